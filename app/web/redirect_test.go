package web_test

import (
	"net/http"
	"testing"
)

// TestTrailingSlashRedirect sends URLs with a trailing slash to the
// canonical URL without it, and never to another host.
func TestTrailingSlashRedirect(t *testing.T) {
	_, ts := MustSite(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		path, location string
		code           int
	}{
		{"/posts/hello-world/", "/posts/hello-world", http.StatusMovedPermanently},
		{"/about/?x=1", "/about?x=1", http.StatusMovedPermanently},
		{"/posts/", "", http.StatusOK},
		{"/no/such/", "/no/such", http.StatusMovedPermanently},
		{"/no/such", "", http.StatusNotFound},
	}
	for _, c := range cases {
		resp, err := client.Get(ts.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code || resp.Header.Get("Location") != c.location {
			t.Errorf("GET %s = %d Location %q, want %d %q", c.path, resp.StatusCode, resp.Header.Get("Location"), c.code, c.location)
		}
	}
	// A path that would become "//host" is not redirected (the mux cleans
	// double slashes itself first; whatever it leaves must not leave the site).
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
	req.URL.Path = "//evil.example/"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); len(loc) > 1 && loc[:2] == "//" {
		t.Errorf("redirected to another host: %q", loc)
	}
}
