package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/web"
	"site/embedded/objects"
	"site/internal/testkit"
)

// chromium finds Debian's chromium, skipping the test without it unless
// SITE_REQUIRE_BROWSER=1.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SITE_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium not found and SITE_REQUIRE_BROWSER=1")
	}
	t.Skip("chromium not installed (apt-get install chromium); SITE_REQUIRE_BROWSER=1 makes this a failure")
	return ""
}

var consoleLine = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

// TestBrowser opens the home page, a post, a tag page and a search in
// headless Chromium, in light and dark mode, and fails on any console
// message (errors, CSP violations, missing resources). Screenshots go to
// $SITE_ARTIFACTS or the test's artifact dir (go test -artifacts).
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	pictures := mustPictures(t)
	_, ts := MustSite(t, func(s *web.Server) { s.Objects, s.MediaBucket = pictures, "public" })
	dir := os.Getenv("SITE_ARTIFACTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	pages := []struct{ name, path string }{
		{"home", "/"}, {"post", "/posts/hello-world"}, {"project", "/projects/tool"}, {"tag", "/tags/go"}, {"search", "/search?q=sqlite"},
	}
	for _, p := range pages {
		for _, mode := range []struct {
			name   string
			scheme string // blink's preferredColorScheme: 0 dark, 1 light
			dark   bool
		}{{"light", "1", false}, {"dark", "0", true}} {
			t.Run(p.name+"-"+mode.name, func(t *testing.T) {
				shot := filepath.Join(dir, p.name+"-"+mode.name+".png")
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
					"--disable-extensions", "--user-data-dir="+profile, "--enable-logging=stderr", "--v=0",
					"--blink-settings=preferredColorScheme="+mode.scheme, "--hide-scrollbars",
					"--window-size=1280,1000", "--screenshot="+shot, ts.URL+p.path)
				var stderr bytes.Buffer
				cmd.Stderr, cmd.Stdout = &stderr, io.Discard
				if err := cmd.Run(); err != nil {
					t.Fatalf("chromium: %v\n%s", err, stderr.String())
				}
				if lines := consoleLine.FindAllString(stderr.String(), -1); len(lines) > 0 {
					t.Errorf("console messages on %s:\n%s", p.path, strings.Join(lines, "\n"))
				}
				f, err := os.Open(shot)
				if err != nil {
					t.Fatalf("no screenshot: %v\n%s", err, stderr.String())
				}
				defer f.Close()
				img, err := png.Decode(f)
				if err != nil {
					t.Fatal(err)
				}
				if bg := luma(img.At(img.Bounds().Max.X-3, img.Bounds().Max.Y-3)); mode.dark && bg > 60 || !mode.dark && bg < 200 {
					t.Errorf("%s mode background luma %d", mode.name, bg)
				}
				t.Logf("screenshot %s", shot)
			})
		}
	}
}

func luma(c color.Color) int {
	r, g, b, _ := c.RGBA()
	return int((299*r + 587*g + 114*b) / 1000 >> 8)
}

// mustPictures starts the object server with the seeded project's cover
// variants in the public bucket.
func mustPictures(t *testing.T) *minio.Client {
	t.Helper()
	_, c := testkit.Objects(t, func(s *objects.Server) { s.Buckets = []string{"public"} })
	for _, w := range []int{480, 960} {
		img := image.NewRGBA(image.Rect(0, 0, w, w*9/16))
		for y := 0; y < img.Bounds().Dy(); y++ {
			for x := 0; x < w; x++ {
				img.Set(x, y, color.RGBA{uint8(x * 255 / w), 120, uint8(y * 255 / img.Bounds().Dy()), 255})
			}
		}
		var buf bytes.Buffer
		_ = png.Encode(&buf, img)
		key := "projects/tool/cover-" + map[int]string{480: "480", 960: "960"}[w] + ".webp"
		if _, err := c.PutObject(context.Background(), "public", key, &buf, int64(buf.Len()), minio.PutObjectOptions{ContentType: "image/png"}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}
