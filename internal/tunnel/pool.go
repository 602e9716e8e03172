package tunnel

import "sync"

// bufSize is the copy buffer: big enough that a bulk transfer moves a
// socket buffer's worth per syscall, small enough to keep a stalled write
// cheap. BenchmarkPipeBulk compares sizes.
const bufSize = 32 << 10

// bufPool hands out fixed-size buffers; pointers to slices so Put does not
// allocate.
type bufPool struct {
	size int
	p    sync.Pool
}

func newBufPool(size int) *bufPool {
	bp := &bufPool{size: size}
	bp.p.New = func() any {
		b := make([]byte, size)
		return &b
	}
	return bp
}

func (bp *bufPool) get() *[]byte  { return bp.p.Get().(*[]byte) }
func (bp *bufPool) put(b *[]byte) { bp.p.Put(b) }

var defaultPool = newBufPool(bufSize)
