package media_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"runtime"
	"testing"

	"site/app/media"
)

// quadrants is a w×h image: red top-left, green top-right, blue
// bottom-left, white bottom-right, so orientation shows in the output.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			switch {
			case x >= w/2 && y < h/2:
				c = color.RGBA{0, 255, 0, 255}
			case x < w/2 && y >= h/2:
				c = color.RGBA{0, 0, 255, 255}
			case x >= w/2 && y >= h/2:
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment with the orientation tag
// right after the JPEG's SOI marker.
func withOrientation(jpg []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8))
	binary.Write(&tiff, binary.BigEndian, uint16(1))           // one entry
	binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3}) // tag, SHORT
	binary.Write(&tiff, binary.BigEndian, uint32(1))           // count
	binary.Write(&tiff, binary.BigEndian, []uint16{o, 0})      // value
	binary.Write(&tiff, binary.BigEndian, uint32(0))           // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// bombPNG is a valid PNG header claiming w×h pixels with almost no data.
func bombPNG(w, h uint32) []byte {
	return pngFile(w, h, 6, []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}) // 8-bit RGBA
}

// pngFile is a PNG of w×h 8-bit pixels of the given colour type whose
// image data is the zlib stream idat.
func pngFile(w, h uint32, colourType byte, idat []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, colourType, 0, 0, 0) // not interlaced
	chunk("IHDR", ihdr)
	chunk("IDAT", idat)
	chunk("IEND", nil)
	return b.Bytes()
}

func at(tb testing.TB, data []byte, fx, fy float64) color.RGBA {
	tb.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	b := img.Bounds()
	r, g, bl, _ := img.At(b.Min.X+int(fx*float64(b.Dx())), b.Min.Y+int(fy*float64(b.Dy()))).RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
}

func near(c, want color.RGBA) bool {
	d := func(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
	return d(c.R, want.R) < 40 && d(c.G, want.G) < 40 && d(c.B, want.B) < 40
}

var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
)

func TestFormats(t *testing.T) {
	t.Parallel()
	src := quadrants(1400, 1000)
	var gifBuf bytes.Buffer
	anim := &gif.GIF{}
	for _, c := range []color.Color{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}} {
		frame := image.NewPaletted(image.Rect(0, 0, 700, 500), []color.Color{c, color.Black})
		anim.Image = append(anim.Image, frame)
		anim.Delay = append(anim.Delay, 10)
	}
	if err := gif.EncodeAll(&gifBuf, anim); err != nil {
		t.Fatal(err)
	}
	webp, err := os.ReadFile("testdata/quadrants.webp")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		data    []byte
		format  string
		w, h    int
		widths  []int
		topLeft color.RGBA
	}{
		{"jpeg", encodeJPEG(t, src), "jpeg", 1400, 1000, []int{320, 640, 960, 1280}, red},
		{"png", encodePNG(t, src), "png", 1400, 1000, []int{320, 640, 960, 1280}, red},
		{"gif first frame", gifBuf.Bytes(), "gif", 700, 500, []int{320, 640}, red},
		{"webp", webp, "webp", 400, 300, []int{320}, red},
	}
	for _, c := range cases {
		res, err := media.Process(c.data, media.Options{MaxPixels: 50_000_000})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if res.Header.Format != c.format || res.Width != c.w || res.Height != c.h {
			t.Errorf("%s: %s %d×%d, want %s %d×%d", c.name, res.Header.Format, res.Width, res.Height, c.format, c.w, c.h)
		}
		var got []int
		for _, v := range res.Variants {
			got = append(got, v.Width)
			if v.Format != "jpeg" || v.Height != (v.Width*c.h+c.w/2)/c.w {
				t.Errorf("%s: variant %d×%d %s has the wrong shape", c.name, v.Width, v.Height, v.Format)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(v.Data))
			if err != nil || cfg.Width != v.Width || cfg.Height != v.Height {
				t.Errorf("%s: variant %d is not a %d×%d JPEG: %v", c.name, v.Width, v.Width, v.Height, err)
			}
		}
		if len(got) != len(c.widths) || (len(got) > 0 && got[len(got)-1] != c.widths[len(c.widths)-1]) {
			t.Errorf("%s: widths %v, want %v (none wider than the original)", c.name, got, c.widths)
		}
		if px := at(t, res.Variants[0].Data, 0.1, 0.1); !near(px, c.topLeft) {
			t.Errorf("%s: top-left pixel %v, want %v", c.name, px, c.topLeft)
		}
		if res.Thumb.Width != 256 || res.Thumb.Height != 256 {
			t.Errorf("%s: thumbnail %d×%d, want 256×256", c.name, res.Thumb.Width, res.Thumb.Height)
		}
		if len(res.Placeholder) > 2000 || !bytes.HasPrefix([]byte(res.Placeholder), []byte("data:image/jpeg;base64,")) {
			t.Errorf("%s: placeholder of %d bytes: %.40s", c.name, len(res.Placeholder), res.Placeholder)
		}
	}
}

func TestSmallImageIsNotUpscaled(t *testing.T) {
	t.Parallel()
	res, err := media.Process(encodePNG(t, quadrants(200, 100)), media.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Variants) != 1 || res.Variants[0].Width != 200 || res.Variants[0].Height != 100 {
		t.Fatalf("variants of a 200×100 image: %+v; want one at 200×100", res.Variants)
	}
	if res.Thumb.Width != 100 {
		t.Errorf("thumbnail %d wide, want 100 (the short side, not upscaled)", res.Thumb.Width)
	}
}

func TestEXIFOrientation(t *testing.T) {
	t.Parallel()
	// Stored 1200×800, orientation 6: shown rotated 90° clockwise, 800×1200.
	data := withOrientation(encodeJPEG(t, quadrants(1200, 800)), 6)
	res, err := media.Process(data, media.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Orientation != 6 || res.Width != 800 || res.Height != 1200 {
		t.Fatalf("orientation %d, upright %d×%d; want 6, 800×1200", res.Header.Orientation, res.Width, res.Height)
	}
	v := res.Variants[len(res.Variants)-1]
	if v.Width != 640 || v.Height != 960 {
		t.Fatalf("widest variant %d×%d, want 640×960", v.Width, v.Height)
	}
	// Rotated clockwise: stored top-left (red) is now top-right, stored
	// bottom-left (blue) is now top-left, stored top-right (green) bottom-right.
	for _, c := range []struct {
		fx, fy float64
		want   color.RGBA
	}{{0.9, 0.1, red}, {0.1, 0.1, blue}, {0.9, 0.9, green}} {
		if px := at(t, v.Data, c.fx, c.fy); !near(px, c.want) {
			t.Errorf("pixel at (%.1f, %.1f) = %v, want %v", c.fx, c.fy, px, c.want)
		}
	}
	if bytes.Contains(v.Data, []byte("Exif")) {
		t.Error("the variant still carries EXIF metadata")
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	good := encodeJPEG(t, quadrants(800, 600))
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"text named .jpg", []byte("hello, I am not a photo\n"), media.ErrNotImage},
		{"empty", nil, media.ErrNotImage},
		{"html", []byte("<!doctype html><svg onload=alert(1)>"), media.ErrNotImage},
		{"truncated jpeg", good[:len(good)/2], media.ErrCorrupt},
		{"truncated header", good[:20], media.ErrNotImage},
		{"decompression bomb", bombPNG(100_000, 100_000), media.ErrTooManyPixels},
		{"wide bomb", bombPNG(1<<30, 3), media.ErrTooManyPixels},
	}
	for _, c := range cases {
		if _, err := media.Process(c.data, media.Options{MaxPixels: 50_000_000}); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := media.Process(good, media.Options{MaxBytes: 100}); !errors.Is(err, media.ErrTooLarge) {
		t.Errorf("over the byte cap: %v", err)
	}
}

func TestBombRefusedWithoutAllocating(t *testing.T) {
	bomb := bombPNG(100_000, 100_000) // 40 GB of pixels, 60 bytes of file
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := media.Process(bomb, media.Options{MaxPixels: 50_000_000}); !errors.Is(err, media.ErrTooManyPixels) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 1<<20 {
		t.Fatalf("refusing a bomb allocated %d bytes per try; want well under 1 MiB", per)
	}
}
