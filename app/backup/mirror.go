package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts the work of one run.
type Stats struct {
	// Checked is the number of source objects compared.
	Checked int64
	// Copied and Bytes are the objects and bytes written to the destination.
	Copied int64
	Bytes  int64
	// Deleted is the number of objects removed because the source lost them.
	Deleted int64
	// Vanished counts source objects deleted between the listing and the copy.
	Vanished int64
	// Failed counts objects that could not be copied or deleted.
	Failed int64
}

// Add adds o to s.
func (s *Stats) Add(o Stats) {
	s.Checked += o.Checked
	s.Copied += o.Copied
	s.Bytes += o.Bytes
	s.Deleted += o.Deleted
	s.Vanished += o.Vanished
	s.Failed += o.Failed
}

// String is a short summary for logs and messages.
func (s Stats) String() string {
	return fmt.Sprintf("%d objects checked, %d copied (%s), %d deleted", s.Checked, s.Copied, humanBytes(s.Bytes), s.Deleted)
}

// errVanished marks a source object that was deleted before it was copied.
var errVanished = errors.New("source object vanished")

// copyFunc copies one object and returns what the destination now holds.
type copyFunc func(ctx context.Context, key string, src entry) (entry, error)

// deleteFunc removes one object from the destination.
type deleteFunc func(ctx context.Context, key string) error

// pass is one comparison of a source with a destination and the work it
// makes; dst is updated in place to what the destination holds after it.
type pass struct {
	name        string // for logs: "daily", "restore public"
	src, dst    map[string]entry
	scope       string // only destination keys with this prefix may be deleted
	copy        copyFunc
	del         deleteFunc
	concurrency int
	progress    time.Duration
	logger      *slog.Logger
}

// differs reports whether the destination's copy d of source object s must
// be written again.
func differs(s entry, d entry, ok bool) bool {
	return !ok || s.Size != d.Size || s.ETag != d.ETag
}

// run copies what differs and deletes what the source lost, with
// p.concurrency workers, logging progress every p.progress. It returns the
// counts and the errors of objects that failed (at most a few, joined).
func (p *pass) run(ctx context.Context) (Stats, error) {
	type job struct {
		key   string
		src   entry
		isDel bool
	}
	var todo []job
	var total int64
	for _, k := range sortedKeys(p.src) {
		s := p.src[k]
		if d, ok := p.dst[k]; differs(s, d, ok) {
			todo = append(todo, job{key: k, src: s})
			total += s.Size
		}
	}
	for _, k := range sortedKeys(p.dst) {
		if _, ok := p.src[k]; !ok && strings.HasPrefix(k, p.scope) {
			todo = append(todo, job{key: k, isDel: true})
		}
	}
	st := Stats{Checked: int64(len(p.src))}
	if len(todo) == 0 {
		return st, nil
	}
	p.logger.Info("offsite: transfer starting", "pass", p.name, "objects", len(todo), "bytes", total)

	var copied, bytes, deleted, vanished, failed atomic.Int64
	var mu sync.Mutex // guards p.dst and errs
	var errs []error
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range max(1, p.concurrency) {
		wg.Go(func() {
			for j := range jobs {
				if j.isDel {
					err := p.del(ctx, j.key)
					mu.Lock()
					if err != nil {
						failed.Add(1)
						errs = append(errs, fmt.Errorf("delete %s: %w", j.key, err))
					} else {
						deleted.Add(1)
						delete(p.dst, j.key)
					}
					mu.Unlock()
					continue
				}
				got, err := p.copy(ctx, j.key, j.src)
				mu.Lock()
				switch {
				case errors.Is(err, errVanished):
					vanished.Add(1)
				case err != nil:
					failed.Add(1)
					// The destination's state is unknown: forget it so the next run copies again.
					delete(p.dst, j.key)
					errs = append(errs, fmt.Errorf("copy %s: %w", j.key, err))
				default:
					copied.Add(1)
					bytes.Add(j.src.Size)
					p.dst[j.key] = got
				}
				mu.Unlock()
			}
		})
	}
	stop := make(chan struct{})
	var logDone sync.WaitGroup
	if p.progress > 0 {
		logDone.Go(func() {
			t := time.NewTicker(p.progress)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					p.logger.Info("offsite: progress", "pass", p.name,
						"done", copied.Load()+deleted.Load()+vanished.Load()+failed.Load(), "of", len(todo),
						"bytes", bytes.Load(), "of_bytes", total)
				}
			}
		})
	}
feed:
	for _, j := range todo {
		select {
		case jobs <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(stop)
	logDone.Wait()
	st.Copied, st.Bytes, st.Deleted = copied.Load(), bytes.Load(), deleted.Load()
	st.Vanished, st.Failed = vanished.Load(), failed.Load()
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more", len(errs)-3))
	}
	return st, errors.Join(errs...)
}

// humanBytes formats n as "12.3 MB".
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
