package media_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"site/app/media"
)

// solidPNG is a w×h 8-bit RGB PNG of one colour, written a row at a time:
// a few kB on disk for many MB decoded, without ever holding the pixels.
func solidPNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	row := make([]byte, 1+3*w) // filter byte 0, then the pixels
	for x := range w {
		row[1+3*x], row[2+3*x], row[3+3*x] = 200, 120, 40
	}
	for range h {
		if _, err := zw.Write(row); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return pngFile(uint32(w), uint32(h), 2, z.Bytes()) // 8-bit truecolour
}

// processAll processes data n times at once with opt and returns the
// results; it fails the test on any error.
func processAll(t *testing.T, ctx context.Context, data []byte, n int, opt media.Options) []*media.Result {
	t.Helper()
	res := make([]*media.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { res[i], errs[i] = media.ProcessContext(ctx, data, opt) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return res
}

// footprintOf is what one image of data takes from a budget.
func footprintOf(t *testing.T, data []byte) int64 {
	t.Helper()
	res, err := media.Process(data, media.Options{Budget: media.NewBudget(0)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Footprint <= 0 {
		t.Fatalf("footprint %d", res.Footprint)
	}
	return res.Footprint
}

// TestBudgetBoundsImagesInFlight processes four images at once through
// budgets with room for one, two and all of them: the bytes held at once
// never pass the budget, and are all given back.
func TestBudgetBoundsImagesInFlight(t *testing.T) {
	t.Parallel()
	data := solidPNG(t, 800, 600)
	fp := footprintOf(t, data)
	// 800×600 RGB: at least the decoded image and its RGBA copy.
	if fp < 8*800*600 {
		t.Errorf("footprint of an 800×600 RGB PNG %d bytes; want at least %d", fp, 8*800*600)
	}
	for _, c := range []struct {
		name     string
		size     int64
		wantPeak int64 // the most the peak may be
	}{
		{"room for one", fp * 3 / 2, fp},
		{"room for two", fp * 5 / 2, 2 * fp},
		{"unbounded", 0, 4 * fp},
	} {
		b := media.NewBudget(c.size)
		res := processAll(t, t.Context(), data, 4, media.Options{Budget: b})
		for _, r := range res {
			if r.Footprint != fp || len(r.Variants) != 2 {
				t.Errorf("%s: footprint %d and %d variants; want %d and 2", c.name, r.Footprint, len(r.Variants), fp)
			}
		}
		if p := b.Peak(); p < fp || p > c.wantPeak {
			t.Errorf("%s: peak %d bytes in flight; want %d to %d", c.name, p, fp, c.wantPeak)
		}
		if n := b.InUse(); n != 0 {
			t.Errorf("%s: %d bytes still held after every image is done", c.name, n)
		}
	}
}

// TestBudgetImageLargerThanBudget: an image needing more than the whole
// budget takes all of it and runs alone, beside others that wait; nothing
// deadlocks.
func TestBudgetImageLargerThanBudget(t *testing.T) {
	t.Parallel()
	data := solidPNG(t, 800, 600)
	fp := footprintOf(t, data)
	b := media.NewBudget(fp / 2)
	// A deadlock would end here with an error rather than the test's timeout.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	processAll(t, ctx, data, 4, media.Options{Budget: b})
	if p := b.Peak(); p != b.Size() {
		t.Errorf("peak %d bytes in flight; want the whole budget, %d", p, b.Size())
	}
	if n := b.InUse(); n != 0 {
		t.Errorf("%d bytes still held", n)
	}
}

// TestBudgetWaitEndsWithContext: an image waiting for a budget held
// elsewhere gives up when its context ends, with the context's error (not
// one that blames the file), and takes nothing.
func TestBudgetWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	data := solidPNG(t, 400, 300)
	b := media.NewBudget(1 << 20)
	release, err := b.Acquire(t.Context(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = media.ProcessContext(ctx, data, media.Options{Budget: b})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v; want the context's deadline", err)
	}
	for _, e := range []error{media.ErrNotImage, media.ErrCorrupt, media.ErrTooLarge, media.ErrTooManyPixels} {
		if errors.Is(err, e) {
			t.Errorf("err %v blames the file (%v)", err, e)
		}
	}
	if n := b.InUse(); n != 1<<20 {
		t.Errorf("%d bytes held after the wait gave up; want only the holder's %d", n, 1<<20)
	}
	cancelled, stop := context.WithCancel(t.Context())
	stop()
	if _, err := media.ProcessContext(cancelled, data, media.Options{Budget: b}); !errors.Is(err, context.Canceled) {
		t.Errorf("already cancelled: err %v; want context.Canceled", err)
	}
	release()
	release() // a second call gives nothing back twice
	if n := b.InUse(); n != 0 {
		t.Errorf("%d bytes held after release", n)
	}
	if _, err := media.ProcessContext(t.Context(), data, media.Options{Budget: b}); err != nil {
		t.Errorf("after release: %v", err)
	}
}
