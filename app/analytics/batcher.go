package analytics

import (
	"sync"
	"time"

	"site/app/jobs"
)

// Batcher gathers the web role's page views into jobs of many views each,
// so that JetStream stores, deduplicates and delivers one message per batch
// instead of one per view. A batch is sent when it holds MaxViews views or
// about MaxBytes of them, or when its first view has waited MaxWait,
// whichever comes first. Add never blocks: it appends to the batch, and a
// full batch is encoded and handed to Enqueue, which must not block either
// (jobs.Publisher.Enqueue).
type Batcher struct {
	// Enqueue takes a finished batch; it reports false when the batch was
	// dropped (and counted) for want of room.
	Enqueue func(jobs.Job) bool
	// MaxViews is the most views in one job (500 when zero).
	MaxViews int
	// MaxBytes bounds a batch's encoded size (512 KiB when zero), well under
	// NATS's payload limit (1 MiB by default, 8 MiB embedded).
	MaxBytes int
	// MaxWait is the longest a view waits for its batch to fill (100 ms
	// when zero), which bounds how late the live dashboard sees it.
	MaxWait time.Duration

	mu     sync.Mutex
	views  []PageView
	bytes  int // the batch's approximate encoded size
	timer  *time.Timer
	closed bool
}

func (b *Batcher) maxViews() int {
	if b.MaxViews > 0 {
		return b.MaxViews
	}
	return 500
}

func (b *Batcher) maxBytes() int {
	if b.MaxBytes > 0 {
		return b.MaxBytes
	}
	return 512 << 10
}

// encodedSize bounds a view's size in a batch when no field needs escaping:
// its strings, plus the time, the tabs and the flags.
func encodedSize(pv PageView) int {
	return 32 + len(pv.Path) + len(pv.Host) + len(pv.Referrer) + len(pv.UserAgent) + len(pv.UTMSource) +
		len(pv.IP) + len(pv.ForwardedFor)
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
		b.send([]PageView{pv})
		return
	}
	if b.views == nil {
		b.views = make([]PageView, 0, b.maxViews())
	}
	b.views = append(b.views, pv)
	b.bytes += encodedSize(pv)
	var full []PageView
	switch {
	case len(b.views) >= b.maxViews() || b.bytes >= b.maxBytes():
		full, b.views, b.bytes = b.views, nil, 0
		if b.timer != nil {
			b.timer.Stop()
		}
	case len(b.views) == 1:
		if b.timer == nil {
			b.timer = time.AfterFunc(b.maxWait(), b.Flush)
		} else {
			b.timer.Reset(b.maxWait())
		}
	}
	b.mu.Unlock()
	if full != nil {
		b.send(full)
	}
}

// Flush sends the current batch now, if it has any view.
func (b *Batcher) Flush() {
	b.mu.Lock()
	views := b.views
	b.views, b.bytes = nil, 0
	b.mu.Unlock()
	if len(views) > 0 {
		b.send(views)
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

// maxPayload is the most bytes a batch job may carry: under the 1 MiB that
// a NATS server takes by default. MaxBytes is counted on the raw fields,
// and escaping doubles a backslash, tab or newline, so a batch of odd
// headers can encode larger; it is then sent in halves.
const maxPayload = 960 << 10

func (b *Batcher) send(views []PageView) {
	j := NewBatchJob(views)
	if len(j.Data) > maxPayload && len(views) > 1 {
		b.send(views[:len(views)/2])
		b.send(views[len(views)/2:])
		return
	}
	b.Enqueue(j)
}
