package credauth

import (
	"path/filepath"
	"sync"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// watcher re-reads file secrets when their directory changes. It watches
// the directory, not the file: Kubernetes rotates a mounted Secret by
// swapping the ..data symlink, and editors replace files by rename; both
// leave a watch on the old file's inode blind.
type watcher struct {
	fw   *fsnotify.Watcher
	dirs map[string][]*fileSource
	log  *zap.Logger
	wg   sync.WaitGroup
}

// startWatcher returns nil (and logs) when fsnotify is unavailable: the
// per-read stat fallback still picks up changes, within about a second.
func startWatcher(files []*fileSource, log *zap.Logger) *watcher {
	if len(files) == 0 {
		return nil
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("cannot watch secret files; falling back to checking them on use", zap.Error(err))
		return nil
	}
	w := &watcher{fw: fw, dirs: make(map[string][]*fileSource), log: log}
	for _, f := range files {
		dir := filepath.Dir(f.path)
		if _, ok := w.dirs[dir]; !ok {
			if err := fw.Add(dir); err != nil {
				log.Warn("cannot watch secret directory; falling back to checking it on use",
					zap.String("dir", dir), zap.Error(err))
			}
		}
		w.dirs[dir] = append(w.dirs[dir], f)
	}
	w.wg.Add(1)
	go w.loop()
	return w
}

func (w *watcher) loop() {
	defer w.wg.Done()
	for {
		select {
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			// Any event in the directory may be the rotation (the file, a
			// symlink it resolves through, a rename onto it); re-reading a
			// few short files is cheaper than deciding which.
			for _, f := range w.dirs[filepath.Dir(ev.Name)] {
				_ = f.reload()
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.log.Warn("secret file watch error", zap.Error(err))
		}
	}
}

// close stops the watch and waits for the loop to end.
func (w *watcher) close() {
	if w == nil {
		return
	}
	_ = w.fw.Close()
	w.wg.Wait()
}
