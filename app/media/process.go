package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"slices"
	"sync"
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
}

// Process checks, decodes and resizes data. Errors wrap ErrNotImage,
// ErrTooManyPixels, ErrTooLarge or ErrCorrupt when the file is at fault.
func Process(data []byte, opt Options) (*Result, error) {
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
	hdr, err := Probe(data, opt.MaxPixels)
	if err != nil {
		return nil, err
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	upW, upH := hdr.Upright()
	targets := targetWidths(widths, upW)
	// Work in stored orientation: a width after rotation is a stored
	// height when the image lies on its side.
	stored := func(w int) (int, int) { // upright target width → stored w×h
		h := max(1, (w*upH+upW/2)/upW)
		if hdr.Orientation >= 5 {
			return h, w
		}
		return w, h
	}
	side := min(hdr.Width, hdr.Height)
	thumb := min(ThumbSize, side)
	thumbNeed := (thumb*hdr.Width + side - 1) / side // stored width whose square crop is thumb
	widest, _ := stored(targets[len(targets)-1])
	need := max(widest, thumbNeed)
	base := toRGBA(src, hdr.Width/2 >= need)
	src = nil
	pyr := buildPyramid(base, PlaceholderWidth)
	res := &Result{Header: hdr, Width: upW, Height: upH, Variants: make([]Variant, len(targets))}
	var wg sync.WaitGroup
	errs := make([]error, len(targets)+2)
	for i, tw := range targets {
		wg.Go(func() {
			sw, sh := stored(tw)
			level := pyr.pick(sw)
			img := orient(scale(level, level.Rect, sw, sh), hdr.Orientation)
			data, err := encode(img, opt.Quality)
			res.Variants[i] = Variant{Width: img.Rect.Dx(), Height: img.Rect.Dy(), Format: "jpeg", Data: data}
			errs[i] = err
		})
	}
	wg.Go(func() {
		// Thumbnail: the centred square of the upright image.
		level := pyr.pick(thumbNeed)
		ls := min(level.Rect.Dx(), level.Rect.Dy())
		x0, y0 := (level.Rect.Dx()-ls)/2, (level.Rect.Dy()-ls)/2
		img := orient(scale(level, image.Rect(x0, y0, x0+ls, y0+ls), thumb, thumb), hdr.Orientation)
		data, err := encode(img, opt.Quality)
		res.Thumb = Variant{Width: thumb, Height: thumb, Format: "jpeg", Data: data}
		errs[len(targets)] = err
	})
	wg.Go(func() {
		pw, ph := stored(min(PlaceholderWidth, upW))
		level := pyr[len(pyr)-1]
		img := blur(orient(scale(level, level.Rect, pw, ph), hdr.Orientation))
		data, err := encode(img, 40)
		res.Placeholder = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(data)
		errs[len(targets)+1] = err
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
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
