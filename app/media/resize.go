package media

import (
	"image"
	"image/draw"
	"runtime"
	"sync"

	xdraw "golang.org/x/image/draw"
)

// toRGBA converts a decoded image to RGBA. A 4:2:0 JPEG goes straight to
// half size (each 2×2 block of luma shares one chroma sample, so averaging
// the luma there is an exact box filter), which is all the variants need
// when the image is at least twice the widest target.
func toRGBA(src image.Image, halve bool) *image.RGBA {
	if y, ok := src.(*image.YCbCr); ok && halve && y.SubsampleRatio == image.YCbCrSubsampleRatio420 {
		return halfYCbCr420(y)
	}
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	op := draw.Src
	if o, ok := src.(interface{ Opaque() bool }); ok && !o.Opaque() {
		// JPEG has no alpha: transparent parts go on white, not black.
		draw.Draw(dst, dst.Rect, image.White, image.Point{}, draw.Src)
		op = draw.Over
	}
	parallelRows(b.Dy(), func(y0, y1 int) {
		r := image.Rect(0, y0, b.Dx(), y1)
		draw.Draw(dst, r, src, b.Min.Add(image.Pt(0, y0)), op)
	})
	if halve {
		return half(dst)
	}
	return dst
}

// parallelRows splits [0,h) into one band per CPU.
func parallelRows(h int, f func(y0, y1 int)) {
	n := min(runtime.GOMAXPROCS(0), max(1, h/64))
	var wg sync.WaitGroup
	for i := range n {
		y0, y1 := h*i/n, h*(i+1)/n
		wg.Go(func() { f(y0, y1) })
	}
	wg.Wait()
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

func halfYCbCr420(src *image.YCbCr) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/2, b.Dy()/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			sy := 2 * y
			row0 := src.Y[sy*src.YStride:]
			row1 := src.Y[(sy+1)*src.YStride:]
			crow := y * src.CStride
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				sx := 2 * x
				yy := (int32(row0[sx]) + int32(row0[sx+1]) + int32(row1[sx]) + int32(row1[sx+1]) + 2) >> 2
				cb := int32(src.Cb[crow+x]) - 128
				cr := int32(src.Cr[crow+x]) - 128
				// JFIF YCbCr → RGB, fixed point 16.16 as in image/color.
				yy1 := yy * 0x10101
				r := (yy1 + 91881*cr) >> 16
				g := (yy1 - 22554*cb - 46802*cr) >> 16
				bl := (yy1 + 116130*cb) >> 16
				d[4*x], d[4*x+1], d[4*x+2], d[4*x+3] = clamp8(r), clamp8(g), clamp8(bl), 255
			}
		}
	})
	return dst
}

// half is a 2×2 box filter: the image at half width and height.
func half(src *image.RGBA) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	parallelRows(h, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			r0 := src.Pix[(2*y)*src.Stride:]
			r1 := src.Pix[(2*y+1)*src.Stride:]
			d := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				i := 8 * x
				for c := 0; c < 4; c++ {
					d[4*x+c] = uint8((uint32(r0[i+c]) + uint32(r0[i+4+c]) + uint32(r1[i+c]) + uint32(r1[i+4+c]) + 2) >> 2)
				}
			}
		}
	})
	return dst
}

// pyramid holds the image and its successive halvings, largest first.
type pyramid []*image.RGBA

// build halves until the next level would be narrower than minW.
func buildPyramid(base *image.RGBA, minW int) pyramid {
	p := pyramid{base}
	for {
		top := p[len(p)-1]
		if top.Rect.Dx()/2 < minW || top.Rect.Dy() < 2 {
			return p
		}
		p = append(p, half(top))
	}
}

// pick returns the smallest level at least w wide (in stored pixels), so
// the final filter shrinks by less than two.
func (p pyramid) pick(w int) *image.RGBA {
	best := p[0]
	for _, l := range p {
		if l.Rect.Dx() >= w {
			best = l
		}
	}
	return best
}

// scale resizes src to w×h with Catmull-Rom (a sharp cubic).
func scale(src *image.RGBA, sr image.Rectangle, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Rect, src, sr, xdraw.Src, nil)
	return dst
}

// orient applies EXIF orientation o (2-8) to img.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return img
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			copy(dst.Pix[dy*dst.Stride+4*dx:dy*dst.Stride+4*dx+4], img.Pix[y*img.Stride+4*x:y*img.Stride+4*x+4])
		}
	}
	return dst
}

// blur is a small box blur (radius 1, three passes ≈ Gaussian), for the
// placeholder.
func blur(img *image.RGBA) *image.RGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for pass := 0; pass < 3; pass++ {
		out := image.NewRGBA(img.Rect)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var sum [4]int
				n := 0
				for yy := max(0, y-1); yy <= min(h-1, y+1); yy++ {
					for xx := max(0, x-1); xx <= min(w-1, x+1); xx++ {
						i := yy*img.Stride + 4*xx
						for c := range 4 {
							sum[c] += int(img.Pix[i+c])
						}
						n++
					}
				}
				i := y*out.Stride + 4*x
				for c := range 4 {
					out.Pix[i+c] = uint8(sum[c] / n)
				}
			}
		}
		img = out
	}
	return img
}
