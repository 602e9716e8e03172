package tlslisten

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// reloadDebounce folds the events of one rotation (cert and key written
// separately, or a Secret's symlink swap) into one re-read.
const reloadDebounce = 200 * time.Millisecond

// startFiles caches the pair and re-caches it whenever either file changes:
// certmagic does not maintain unmanaged certificates itself.
func (p *Provider) startFiles(ctx context.Context, certFile, keyFile string) error {
	if err := p.loadFiles(ctx, certFile, keyFile); err != nil {
		return err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("tls: watching certificate files: %w", err)
	}
	for _, dir := range uniqueDirs(certFile, keyFile) {
		if err := w.Add(dir); err != nil {
			_ = w.Close()
			return fmt.Errorf("tls: watching %s: %w", dir, err)
		}
	}
	go func() {
		defer w.Close()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op != fsnotify.Chmod {
					timer.Reset(reloadDebounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				p.log.Warn("tls: certificate watch", zap.Error(err))
			case <-timer.C:
				if err := p.loadFiles(ctx, certFile, keyFile); err != nil {
					// A half-written rotation: keep serving the old pair.
					p.log.Warn("tls: certificate files changed but do not load; keeping the previous certificate",
						zap.String("cert_file", certFile), zap.Error(err))
					continue
				}
				p.log.Info("tls: certificate reloaded", zap.String("cert_file", certFile))
			}
		}
	}()
	return nil
}

func (p *Provider) loadFiles(ctx context.Context, certFile, keyFile string) error {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("tls.cert_file: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("tls.key_file: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("tls: %s and %s: %w", certFile, keyFile, err)
	}
	// (CacheUnmanagedCertificatePEMBytesAsReplacement deadlocks in
	// certmagic v0.25.6: it takes the cache lock twice.) Cache the new pair,
	// then drop the previous one by its hash.
	hash, err := p.magic.CacheUnmanagedCertificatePEMBytes(ctx, certPEM, keyPEM, nil)
	if err != nil {
		return fmt.Errorf("tls: caching %s: %w", certFile, err)
	}
	if prev := p.fileHash; prev != "" && prev != hash {
		p.cache.Remove([]string{prev})
	}
	p.fileHash = hash
	p.fallback.Store(&pair)
	return nil
}

func uniqueDirs(files ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		d := filepath.Dir(f)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}
