package analytics

import (
	"sync"
	"time"

	"site/app/jobs"
)

// Batcher gathers the web role's page views into jobs of many views each,
// so that JetStream stores, deduplicates and delivers one message per batch
// instead of one per view. A batch is sent when it holds MaxViews views or
// MaxBytes of payload, or when its first view has waited MaxWait, whichever
// comes first. Each view is encoded as it is added (payload.go), so a
// waiting batch is mostly one byte slice the garbage collector need not
// scan (plus a map of its distinct paths, hosts, referrers and user
// agents). Add never blocks: it appends to the batch,
// and a full batch is handed to Enqueue, which must not block either
// (jobs.Publisher.Enqueue).
type Batcher struct {
	// Enqueue takes a finished batch; it reports false when the batch was
	// dropped (and counted) for want of room.
	Enqueue func(jobs.Job) bool
	// MaxViews is the most views in one job (2,000 when zero): at 30,000
	// views a second that is 15 JetStream messages, each stored, acked and
	// recorded once.
	MaxViews int
	// MaxBytes bounds a batch's payload (512 KiB when zero), well under
	// NATS's payload limit (1 MiB by default, 8 MiB embedded): a batch is
	// sent once it reaches MaxBytes, and one view adds at most about 9 KiB
	// (FromRequest clips every field).
	MaxBytes int
	// MaxWait is the longest a view waits for its batch to fill (100 ms
	// when zero), which bounds how late the worker stores it.
	MaxWait time.Duration

	mu     sync.Mutex
	batch  *batchWriter // nil while no view waits
	timer  *time.Timer
	closed bool
}

func (b *Batcher) maxViews() int {
	if b.MaxViews > 0 {
		return b.MaxViews
	}
	return 2000
}

func (b *Batcher) maxBytes() int {
	if b.MaxBytes > 0 {
		return b.MaxBytes
	}
	return 512 << 10
}

func (b *Batcher) maxWait() time.Duration {
	if b.MaxWait > 0 {
		return b.MaxWait
	}
	return 100 * time.Millisecond
}

// Add puts a page view in the current batch. After Close it sends the view
// on its own, for Enqueue to drop and count.
func (b *Batcher) Add(pv PageView) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.Enqueue(NewBatchJob([]PageView{pv}))
		return
	}
	if b.batch == nil {
		b.batch = newBatchWriter(min(b.maxBytes(), 64<<10))
	}
	b.batch.add(&pv)
	var full *batchWriter
	switch {
	case b.batch.views >= b.maxViews() || len(b.batch.buf) >= b.maxBytes():
		full, b.batch = b.batch, nil
		if b.timer != nil {
			b.timer.Stop()
		}
	case b.batch.views == 1:
		if b.timer == nil {
			b.timer = time.AfterFunc(b.maxWait(), b.Flush)
		} else {
			b.timer.Reset(b.maxWait())
		}
	}
	b.mu.Unlock()
	if full != nil {
		b.Enqueue(full.job())
	}
}

// Flush sends the current batch now, if it has any view.
func (b *Batcher) Flush() {
	b.mu.Lock()
	batch := b.batch
	b.batch = nil
	b.mu.Unlock()
	if batch != nil {
		b.Enqueue(batch.job())
	}
}

// Close sends the current batch; views added later are sent one by one.
// Close the Batcher before the publisher behind Enqueue, so that the last
// batch is published with the rest of the buffer.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
	}
	b.mu.Unlock()
	b.Flush()
}
