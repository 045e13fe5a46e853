package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"site/app/web"
)

// TestBindBeforeOpen: the base URL derived from the port Bind took is set
// before Open, so pages carry it and no request races the write (run with
// -race).
func TestBindBeforeOpen(t *testing.T) {
	s := newSite(t, func(s *web.Server) { s.Listen = "127.0.0.1:0" })
	if err := s.Bind(); err != nil {
		t.Fatal(err)
	}
	s.BaseURL = "http://" + s.Addr()
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(t.Context()) })
	resp, err := http.Get(s.BaseURL + "/about")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	if !strings.Contains(b.String(), `href="`+s.BaseURL+`/about"`) {
		t.Errorf("page lacks its canonical URL %s/about", s.BaseURL)
	}
}
