package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"runtime/metrics"
	"testing"
)

// probeInput is the most the fuzzer gives Probe: the admin upload probes
// the first MiB of a file.
const probeInput = 1 << 20

// probeAllocCap bounds what one Probe may allocate: headers only, never a
// buffer for the pixels or one sized by a length field of the file.
const probeAllocCap = 4 << 20

// FuzzProbe: whatever the bytes and the pixel cap (0 or up to
// images.max_pixels' largest, 500,000,000), Probe agrees with
// image.DecodeConfig on format and size, refuses with ErrTooManyPixels
// exactly the images above the cap, accepts no image whose pixels exceed
// it, reports an orientation of 1 to 8 and a decoder footprint that is
// neither negative nor below one byte a pixel, and allocates at most
// probeAllocCap doing so.
func FuzzProbe(f *testing.F) {
	for _, seed := range probeSeeds(f) {
		f.Add(seed, uint32(50_000_000))
	}
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x06\x00\x00\x00"), uint32(0))
	f.Add([]byte("GIF89a\xff\xff\xff\xff\x00\x00\x00"), uint32(1_000_000))
	f.Fuzz(func(t *testing.T, data []byte, capSeed uint32) {
		if len(data) > probeInput {
			return
		}
		maxPixels := int(capSeed % 500_000_001)
		before := allocated()
		h, err := Probe(data, maxPixels)
		if n := allocated() - before; n > probeAllocCap {
			t.Fatalf("Probe of %d bytes allocated %d bytes", len(data), n)
		}
		cfg, format, cfgErr := image.DecodeConfig(bytes.NewReader(data))
		px := int64(cfg.Width) * int64(cfg.Height)
		overCap := maxPixels > 0 && px > int64(maxPixels)
		switch {
		case cfgErr != nil:
			if !errors.Is(err, ErrNotImage) {
				t.Fatalf("DecodeConfig fails (%v) but Probe says %+v, %v", cfgErr, h, err)
			}
			return
		case h.Format != format || h.Width != cfg.Width || h.Height != cfg.Height:
			t.Fatalf("Probe %s %d×%d, DecodeConfig %s %d×%d", h.Format, h.Width, h.Height, format, cfg.Width, cfg.Height)
		case cfg.Width <= 0 || cfg.Height <= 0:
			if !errors.Is(err, ErrNotImage) {
				t.Fatalf("%d×%d image: Probe error %v", cfg.Width, cfg.Height, err)
			}
			return
		case overCap:
			if !errors.Is(err, ErrTooManyPixels) {
				t.Fatalf("%d×%d over the cap of %d: Probe error %v", cfg.Width, cfg.Height, maxPixels, err)
			}
			return
		case err != nil:
			t.Fatalf("%s %d×%d under the cap of %d refused: %v", format, cfg.Width, cfg.Height, maxPixels, err)
		}
		if h.Orientation < 1 || h.Orientation > 8 {
			t.Fatalf("orientation %d", h.Orientation)
		}
		if h.decoded < px {
			t.Fatalf("%s %d×%d: decoder footprint %d bytes, below one a pixel", format, h.Width, h.Height, h.decoded)
		}
		if maxPixels > 0 {
			if fp := newPlan(h, Widths).footprint(); fp < h.decoded {
				t.Fatalf("%s %d×%d: footprint %d below the decoder's %d", format, h.Width, h.Height, fp, h.decoded)
			}
		}
	})
}

// allocated is the bytes allocated on the heap so far (read without
// stopping the world, unlike runtime.ReadMemStats).
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// probeSeeds are small real images of every accepted format: JPEG 4:2:0
// and gray, one with an EXIF orientation, PNG gray, paletted and RGBA, a
// GIF, and the WebP in testdata.
func probeSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 17, 9))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var out [][]byte
	enc := func(f func(*bytes.Buffer) error) {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			tb.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, img, &jpeg.Options{Quality: 50}) })
	enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, image.NewGray(image.Rect(0, 0, 5, 3)), nil) })
	enc(func(b *bytes.Buffer) error { return png.Encode(b, img) })
	enc(func(b *bytes.Buffer) error { return png.Encode(b, image.NewGray16(image.Rect(0, 0, 3, 2))) })
	enc(func(b *bytes.Buffer) error {
		return png.Encode(b, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}))
	})
	enc(func(b *bytes.Buffer) error { return gif.Encode(b, img, &gif.Options{NumColors: 4}) })
	// A JPEG with an APP1 Exif segment whose IFD0 holds orientation 6.
	exif := []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	seg := append([]byte{0xFF, 0xE1, byte((len(exif) + 2) >> 8), byte(len(exif) + 2)}, exif...)
	out = append(out, append(append(append([]byte{}, out[0][:2]...), seg...), out[0][2:]...))
	webp, err := os.ReadFile("testdata/quadrants.webp")
	if err != nil {
		tb.Fatal(err)
	}
	return append(out, webp)
}
