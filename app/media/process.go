package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"slices"
	"time"
)

// Widths are the responsive widths made of every image, never wider than
// the original.
var Widths = []int{320, 640, 960, 1280, 1920}

// Sizes of the square thumbnail and the placeholder's width.
const (
	ThumbSize        = 256
	PlaceholderWidth = 16
)

// Options bound and tune Process.
type Options struct {
	// MaxPixels refuses larger images before decoding (0: no cap).
	MaxPixels int
	// MaxBytes refuses larger files (0: no cap).
	MaxBytes int
	// Quality is the JPEG quality of the variants (default 82).
	Quality int
	// Widths overrides Widths.
	Widths []int
	// Budget bounds the bytes decoded at once by all the images sharing it;
	// nil is the process-wide budget of DefaultBudget bytes.
	Budget *Budget
}

// Variant is one encoded output.
type Variant struct {
	Width, Height int
	// Format is the MIME subtype: "jpeg".
	Format string
	Data   []byte
}

// Result is everything made of one image.
type Result struct {
	Header Header
	// Width and Height are the upright size of the original.
	Width, Height int
	// Variants are the responsive widths, narrowest first.
	Variants []Variant
	// Thumb is the square thumbnail.
	Thumb Variant
	// Placeholder is a tiny blurred JPEG as a data: URI.
	Placeholder string
	// Footprint is the estimate, from the header, of the most bytes the
	// image held at once: what it asked of its Budget (which gives all it
	// has when that is less).
	Footprint int64
	// Waited is how long it waited for them.
	Waited time.Duration
}

// Process is ProcessContext without a deadline.
func Process(data []byte, opt Options) (*Result, error) {
	return ProcessContext(context.Background(), data, opt)
}

// ProcessContext checks, decodes and resizes data. Errors wrap ErrNotImage,
// ErrTooManyPixels, ErrTooLarge or ErrCorrupt when the file is at fault.
// Before decoding it waits for the image's footprint in opt.Budget; when
// ctx ends first, it returns an error wrapping ctx's.
func ProcessContext(ctx context.Context, data []byte, opt Options) (*Result, error) {
	if opt.MaxBytes > 0 && len(data) > opt.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes is over the cap of %d", ErrTooLarge, len(data), opt.MaxBytes)
	}
	if opt.Quality == 0 {
		opt.Quality = 82
	}
	widths := opt.Widths
	if widths == nil {
		widths = Widths
	}
	budget := opt.Budget
	if budget == nil {
		budget = shared
	}
	hdr, err := Probe(data, opt.MaxPixels)
	if err != nil {
		return nil, err
	}
	p := newPlan(hdr, widths)
	need := p.footprint()
	start := time.Now()
	release, err := budget.Acquire(ctx, need)
	if err != nil {
		return nil, fmt.Errorf("wait for decode budget: %w", err)
	}
	waited := time.Since(start)
	// Everything render decodes and allocates is out of reach when it
	// returns, before the bytes go back.
	res, err := render(data, p, opt.Quality)
	release()
	if err != nil {
		return nil, err
	}
	res.Footprint, res.Waited = need, waited
	return res, nil
}

// targetWidths are the widths not wider than the upright width w; an image
// narrower than the narrowest keeps its own width.
func targetWidths(widths []int, w int) []int {
	var out []int
	for _, x := range widths {
		if x <= w {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		out = []int{w}
	}
	slices.Sort(out)
	return out
}

func encode(img image.Image, quality int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadAll reads r up to maxBytes (0: no cap), refusing more with ErrTooLarge.
func ReadAll(r io.Reader, maxBytes int) ([]byte, error) {
	if maxBytes <= 0 {
		return io.ReadAll(r)
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(maxBytes)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBytes {
		return nil, fmt.Errorf("%w: over the cap of %d bytes", ErrTooLarge, maxBytes)
	}
	return data, nil
}
