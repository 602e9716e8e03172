package credauth

// WithoutWatch turns off fsnotify so tests exercise the stat fallback alone.
func WithoutWatch(o Options) Options {
	o.noWatch = true
	return o
}
