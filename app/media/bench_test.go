package media_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"site/app/benchdoc"
	"site/app/media"
)

// TestBenchVariants makes the full variant set of a 12-megapixel JPEG and
// compares it with vipsthumbnail (Debian's libvips-tools) run once per
// width, as an operator would script it, in the same run; it writes the
// images part of the "## Worker" section of docs/benchmarks.md. It runs
// only with SITE_BENCH=1, skips without vipsthumbnail, and never fails on
// speed.
func TestBenchVariants(t *testing.T) {
	if os.Getenv("SITE_BENCH") == "" {
		t.Skip("benchmark: set SITE_BENCH=1")
	}
	vips, err := exec.LookPath("vipsthumbnail")
	if err != nil {
		t.Skip("vipsthumbnail not installed (apt-get install libvips-tools)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "photo.jpg")
	data := photo(t, 4000, 3000)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	const runs = 5
	var ours, theirs []time.Duration
	var res *media.Result
	for range runs {
		start := time.Now()
		res, err = media.Process(data, media.Options{MaxPixels: 50_000_000})
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, time.Since(start))
		start = time.Now()
		for _, w := range media.Widths {
			out := filepath.Join(dir, fmt.Sprintf("vips_%d.jpg", w))
			cmd := exec.Command(vips, src, "--size", fmt.Sprintf("%dx", w), "-o", out+"[Q=82,strip]")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("vipsthumbnail: %v %s", err, b)
			}
		}
		theirs = append(theirs, time.Since(start))
	}
	medOurs, medVips := median(ours), median(theirs)
	var rows strings.Builder
	for _, v := range res.Variants {
		ref, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("vips_%d.jpg", v.Width)))
		if err != nil {
			t.Fatal(err)
		}
		a, b := decodeGray(t, v.Data), decodeGray(t, ref)
		fmt.Fprintf(&rows, "| %d | %d×%d | %d kB | %d kB | %.4f |\n", v.Width, v.Width, v.Height,
			len(v.Data)/1024, len(ref)/1024, ssim(a, b))
	}
	vipsVersion, _ := exec.Command("vips", "--version").Output()
	body := fmt.Sprintf(`### Images

Measured by `+"`SITE_BENCH=1 go test ./app/media -run TestBenchVariants`"+` on %s (%d cores), %s.

The full variant set of a 12-megapixel JPEG (4000×3000, synthetic photo: gradients, shapes and
noise; %d kB): widths 320/640/960/1280/1920 plus the 256 px square thumbnail and the blurred
placeholder, made by one call of media.Process (decode once, box pyramid, Catmull-Rom,
sizes in parallel, JPEG q82), against `+"`vipsthumbnail --size Wx -o out.jpg[Q=82,strip]`"+` run
once per width (%s), each run decoding the original again with shrink-on-load. Medians of %d runs.

| maker | full set | runs |
|---|---|---|
| site (media.Process) | %s | %s |
| vipsthumbnail ×5 | %s | %s |

**Ratio: %.2f × vips's time** (target ≤ 1.0).

Quality against the vips output of the same width (SSIM of luma, 8×8 windows; 1 = identical):

| width | size | site | vips | SSIM |
|---|---|---|---|---|
%s`, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), len(data)/1024,
		strings.TrimSpace(string(vipsVersion)), runs, round(medOurs), list(ours), round(medVips), list(theirs),
		float64(medOurs)/float64(medVips), rows.String())
	t.Log("\n" + body)
	if err := benchdoc.WriteBlock(filepath.Join("..", "..", "docs", "benchmarks.md"), "## Worker", "images", body); err != nil {
		t.Fatal(err)
	}
}

// photo is a w×h JPEG with smooth gradients, hard-edged shapes and sensor
// noise, so it compresses and resizes like a photograph.
func photo(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			v := 128 + 60*math.Sin(float64(x)/170) + 40*math.Cos(float64(y)/90)
			if (x/250+y/250)%2 == 0 && x%1000 < 600 {
				v += 30
			}
			if (x-2000)*(x-2000)+(y-1500)*(y-1500) < 600*600 {
				v = 230 - v/3
			}
			v += r.NormFloat64() * 6
			img.Y[y*img.YStride+x] = uint8(max(0, min(255, v)))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			img.Cb[y*img.CStride+x] = uint8(128 + 50*math.Sin(float64(x)/200))
			img.Cr[y*img.CStride+x] = uint8(128 + 50*math.Cos(float64(y)/150))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func decodeGray(tb testing.TB, data []byte) *image.Gray {
	tb.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			g.SetGray(x, y, color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray))
		}
	}
	return g
}

// ssim is the mean structural similarity of a and b over 8×8 windows
// (sizes may differ by a pixel from rounding; the common part is compared).
func ssim(a, b *image.Gray) float64 {
	w, h := min(a.Rect.Dx(), b.Rect.Dx()), min(a.Rect.Dy(), b.Rect.Dy())
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	var sum float64
	n := 0
	for y0 := 0; y0+8 <= h; y0 += 8 {
		for x0 := 0; x0+8 <= w; x0 += 8 {
			var ma, mb, va, vb, cov float64
			for y := y0; y < y0+8; y++ {
				for x := x0; x < x0+8; x++ {
					pa, pb := float64(a.GrayAt(x, y).Y), float64(b.GrayAt(x, y).Y)
					ma += pa
					mb += pb
				}
			}
			ma /= 64
			mb /= 64
			for y := y0; y < y0+8; y++ {
				for x := x0; x < x0+8; x++ {
					da, db := float64(a.GrayAt(x, y).Y)-ma, float64(b.GrayAt(x, y).Y)-mb
					va += da * da
					vb += db * db
					cov += da * db
				}
			}
			va /= 63
			vb /= 63
			cov /= 63
			sum += ((2*ma*mb + c1) * (2*cov + c2)) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	return sum / float64(n)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func list(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = round(d).String()
	}
	return strings.Join(parts, ", ")
}
