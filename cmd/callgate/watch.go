package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// watchDebounce folds the burst of events one edit makes (an editor's
// write+rename, a ConfigMap's symlink swap) into one reload.
const watchDebounce = 250 * time.Millisecond

// watchConfig calls reload when the content of path changes. It watches the
// directory, not the file: editors replace files and Kubernetes swaps the
// `..data` symlink, and a watch on the old inode would go silent.
func watchConfig(ctx context.Context, path string, lastHash func() string, reload func(), log *zap.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := w.Add(dir); err != nil {
		_ = w.Close()
		return err
	}
	go func() {
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				if timer != nil {
					timer.Stop()
				}
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(watchDebounce)
				} else {
					timer.Reset(watchDebounce)
				}
				fire = timer.C
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("config watch error", zap.String("dir", dir), zap.Error(err))
			case <-fire:
				fire = nil
				h, err := fileHash(path)
				if err != nil {
					log.Warn("config file unreadable; keeping the current config", zap.String("file", path), zap.Error(err))
					continue
				}
				if h != lastHash() {
					reload()
				}
			}
		}
	}()
	return nil
}

func fileHash(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
