package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"sync"
)

// render decodes data and makes the outputs of p: the variants, the
// thumbnail and the placeholder, in parallel from one pyramid.
func render(data []byte, p plan, quality int) (*Result, error) {
	hdr := p.hdr
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	base := toRGBA(src, p.halve)
	src = nil
	pyr := buildPyramid(base, PlaceholderWidth)
	res := &Result{Header: hdr, Width: p.upW, Height: p.upH, Variants: make([]Variant, len(p.targets))}
	var wg sync.WaitGroup
	errs := make([]error, len(p.targets)+2)
	for i, tw := range p.targets {
		wg.Go(func() {
			sw, sh := p.stored(tw)
			level := pyr.pick(sw)
			img := orient(scale(level, level.Rect, sw, sh), hdr.Orientation)
			data, err := encode(img, quality)
			res.Variants[i] = Variant{Width: img.Rect.Dx(), Height: img.Rect.Dy(), Format: "jpeg", Data: data}
			errs[i] = err
		})
	}
	wg.Go(func() {
		// Thumbnail: the centred square of the upright image.
		level := pyr.pick(p.thumbNeed)
		ls := min(level.Rect.Dx(), level.Rect.Dy())
		x0, y0 := (level.Rect.Dx()-ls)/2, (level.Rect.Dy()-ls)/2
		img := orient(scale(level, image.Rect(x0, y0, x0+ls, y0+ls), p.thumb, p.thumb), hdr.Orientation)
		data, err := encode(img, quality)
		res.Thumb = Variant{Width: p.thumb, Height: p.thumb, Format: "jpeg", Data: data}
		errs[len(p.targets)] = err
	})
	wg.Go(func() {
		pw, ph := p.stored(min(PlaceholderWidth, p.upW))
		level := pyr[len(pyr)-1]
		img := blur(orient(scale(level, level.Rect, pw, ph), hdr.Orientation))
		data, err := encode(img, 40)
		res.Placeholder = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(data)
		errs[len(p.targets)+1] = err
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return res, nil
}
