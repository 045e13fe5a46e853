package media

import (
	"bytes"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"testing"
)

// TestDecoderBytes checks the header-only estimate of what each decoder
// holds against the form image.Decode returns, per format and colour type.
func TestDecoderBytes(t *testing.T) {
	const w, h = 160, 120
	const px = w * h
	r := image.Rect(0, 0, w, h)
	enc := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	pngOf := func(img image.Image) []byte { return enc(func(b *bytes.Buffer) error { return png.Encode(b, img) }) }
	jpegOf := func(img image.Image) []byte {
		return enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) })
	}
	colour := jpegOf(image.NewRGBA(r)) // image/jpeg writes colour as 4:2:0
	// The same file as if progressive (SOF2): the decoder keeps every
	// coefficient, four bytes a sample, until the last scan.
	progressive := bytes.Clone(colour)
	if i := bytes.Index(progressive, []byte{0xFF, 0xC0}); i > 0 {
		progressive[i+1] = 0xC2
	}
	clear := image.NewNRGBA(r) // all transparent: written with alpha
	cases := []struct {
		name   string
		data   []byte
		want   int64
		yuv420 bool
	}{
		{"png gray", pngOf(image.NewGray(r)), px, false},
		{"png gray 16", pngOf(image.NewGray16(r)), 2 * px, false},
		{"png paletted", pngOf(image.NewPaletted(r, palette.Plan9)), px, false},
		{"png rgb", pngOf(image.NewRGBA(r)), 4 * px, false}, // opaque RGBA is written as truecolour
		{"png rgba", pngOf(clear), 4 * px, false},
		{"png rgba 16", pngOf(image.NewNRGBA64(r)), 8 * px, false},
		{"jpeg 4:2:0", colour, px * 3 / 2, true},
		{"jpeg gray", jpegOf(image.NewGray(r)), px, false},
		{"jpeg 4:2:0 progressive", progressive, 5 * px * 3 / 2, true},
		{"gif", enc(func(b *bytes.Buffer) error { return gif.Encode(b, image.NewPaletted(r, palette.Plan9), nil) }), px, false},
	}
	for _, c := range cases {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(c.data))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, yuv420 := decoderBytes(c.data, format, cfg.ColorModel, cfg.Width, cfg.Height)
		if got != c.want || yuv420 != c.yuv420 {
			t.Errorf("%s: %d bytes, 4:2:0 %v; want %d, %v", c.name, got, yuv420, c.want, c.yuv420)
		}
	}
	// An Adam7 PNG decodes its passes apart: half as much again.
	rgb := pngOf(image.NewRGBA(r))
	rgb[28] = 1
	if got, _ := decoderBytes(rgb, "png", color.RGBAModel, w, h); got != 6*px {
		t.Errorf("interlaced png: %d bytes; want %d", got, 6*px)
	}
	webp, err := os.ReadFile("testdata/quadrants.webp")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(webp))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := decoderBytes(webp, "webp", cfg.ColorModel, cfg.Width, cfg.Height); got < int64(cfg.Width*cfg.Height)*3/2 {
		t.Errorf("webp: %d bytes; want at least its 4:2:0 planes", got)
	}
}

// TestFootprintCoversDecodedForm: the whole estimate is more than the
// decoded image and its RGBA copy, and a large 4:2:0 JPEG, halved at
// once, needs less than a PNG of the same size.
func TestFootprintCoversDecodedForm(t *testing.T) {
	r := image.Rect(0, 0, 4000, 3000)
	var pngData, jpegData bytes.Buffer
	if err := png.Encode(&pngData, image.NewRGBA(r)); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&jpegData, image.NewRGBA(r), nil); err != nil {
		t.Fatal(err)
	}
	fp := func(data []byte) int64 {
		hdr, err := Probe(data, 0)
		if err != nil {
			t.Fatal(err)
		}
		return newPlan(hdr, Widths).footprint()
	}
	p, j := fp(pngData.Bytes()), fp(jpegData.Bytes())
	const px = 4000 * 3000
	if p < 8*px {
		t.Errorf("png: %d bytes; want at least the decoded image and its copy, %d", p, 8*px)
	}
	if j >= p || j < px*5/2 {
		t.Errorf("jpeg: %d bytes; want under the png's %d and at least %d", j, p, px*5/2)
	}
	t.Logf("12 MP: png %d MB, jpeg 4:2:0 %d MB", p>>20, j>>20)
}
