package browsertest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"site/internal/browsertest"
)

// TestAxeFindsViolations: axe-core loads and reports a page's serious
// faults (an unlabelled field, an image without alt text), and none on a
// page without them.
func TestAxeFindsViolations(t *testing.T) {
	ctx := browsertest.Browser(t)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		body := `<label for="q">Search</label><input id="q">`
		if r.URL.Path == "/bad" {
			body = `<input id="q"><img src="/x.png">`
		}
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><title>t</title></head><body><main>` + body + `</main></body></html>`))
	}))
	defer ts.Close()
	for _, c := range []struct {
		path string
		want []string
	}{{"/good", nil}, {"/bad", []string{"image-alt", "label"}}} {
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+c.path)); err != nil {
			t.Fatal(err)
		}
		found, err := browsertest.Axe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, v := range found {
			ids[v.ID] = true
		}
		if len(ids) != len(c.want) {
			t.Errorf("%s: violations %v, want %v", c.path, found, c.want)
		}
		for _, id := range c.want {
			if !ids[id] {
				t.Errorf("%s: axe did not find %s (found %v)", c.path, id, found)
			}
		}
	}
}
