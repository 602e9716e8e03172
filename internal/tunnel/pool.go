package tunnel

import "sync"

// Copy buffers. A burst starts with a small buffer, enough for requests and
// replies; a read that fills it means a bulk transfer, which moves on to a
// big buffer for the rest of the burst: fewer, larger reads and writes cost
// less CPU per byte, close to splice(2) (BenchmarkPipeBulk; BENCHMARKS.md,
// History). Either goes back to its pool as soon as the source has nothing
// more to read.
const (
	smallBufSize = 32 << 10
	bigBufSize   = 128 << 10
)

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

// bufPools are the sizes a tunnel uses; big nil means never step up.
type bufPools struct {
	small, big *bufPool
}

// put returns b to the pool of its size.
func (ps *bufPools) put(b *[]byte) {
	if ps.big != nil && len(*b) == ps.big.size {
		ps.big.put(b)
		return
	}
	ps.small.put(b)
}

var defaultPools = &bufPools{small: newBufPool(smallBufSize), big: newBufPool(bigBufSize)}
