package media

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// DefaultBudget is the process-wide bound, in bytes, on what the images in
// flight hold decoded (see Budget). At the default pixel cap (50 MP) an
// 8-bit image, the largest common kind, needs just under it (480 to 500
// MiB) and runs alone, and a 16-bit one takes it all; a 12 MP camera JPEG
// needs about 70 MiB, so four of them still run at once. The Go heap may
// grow to about twice the bytes in flight before the collector frees them.
const DefaultBudget = 512 << 20

// shared is the budget of every Process call whose Options.Budget is nil.
var shared = NewBudget(DefaultBudget)

// Budget bounds the bytes that the images in flight hold decoded, across all
// the Process calls that share it. Each image takes its estimated footprint
// (see Result.Footprint) before it is decoded and gives it back when its
// variants are made; an image whose footprint is more than the whole budget
// takes the whole budget, so it runs alone rather than never. Waiters are
// served first come, first served, so a large image is not starved by small
// ones.
type Budget struct {
	size int64
	sem  *semaphore.Weighted // nil: no bound

	mu          sync.Mutex
	inUse, peak int64
}

// NewBudget returns a budget of size bytes; size ≤ 0 means no bound (the
// bytes in flight are still counted, for Peak).
func NewBudget(size int64) *Budget {
	b := &Budget{size: max(0, size)}
	if b.size > 0 {
		b.sem = semaphore.NewWeighted(b.size)
	}
	return b
}

// Size is the bound in bytes, 0 for none.
func (b *Budget) Size() int64 { return b.size }

// Acquire waits until n bytes of the budget are free, or ctx ends (then it
// returns ctx's error and holds nothing). n above the bound takes the whole
// budget. The returned func gives the bytes back; calling it again does
// nothing.
func (b *Budget) Acquire(ctx context.Context, n int64) (release func(), err error) {
	n = max(0, n)
	if b.sem != nil {
		n = min(n, b.size)
		if err := b.sem.Acquire(ctx, n); err != nil {
			return nil, err
		}
	} else if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.count(n)
	var once sync.Once
	return func() {
		once.Do(func() {
			b.count(-n)
			if b.sem != nil {
				b.sem.Release(n)
			}
		})
	}, nil
}

// InUse is how many bytes are held now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inUse
}

// Peak is the most bytes held at once since the budget was made.
func (b *Budget) Peak() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}

func (b *Budget) count(n int64) {
	b.mu.Lock()
	b.inUse += n
	b.peak = max(b.peak, b.inUse)
	b.mu.Unlock()
}
