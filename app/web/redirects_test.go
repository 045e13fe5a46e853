package web_test

import (
	"context"
	"net/http"
	"testing"
)

// TestMovedEntryRedirects: an entry's old URL answers 301 to its new one,
// which serves the page; chains collapse into one hop.
func TestMovedEntryRedirects(t *testing.T) {
	s, ts := MustSite(t)
	ctx := context.Background()
	p, err := s.Content.GetAny(ctx, "post", "hello-world")
	if err != nil {
		t.Fatal(err)
	}
	for _, slug := range []string{"hello-again", "hello-third"} {
		p.Slug = slug
		if _, _, err := s.Content.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	s.Invalidate()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ path, location string }{
		{"/posts/hello-world", "/posts/hello-third"},
		{"/posts/hello-again?x=1", "/posts/hello-third?x=1"},
		{"/posts/hello-world/", "/posts/hello-world"},
	} {
		resp, err := client.Get(ts.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != c.location {
			t.Errorf("GET %s = %d %q, want 301 %q", c.path, resp.StatusCode, resp.Header.Get("Location"), c.location)
		}
	}
	resp, err := http.Get(ts.URL + "/posts/hello-world")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/posts/hello-third" {
		t.Errorf("following the redirect: %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/posts/hello-world", nil)
	if resp, err := client.Do(req); err != nil || resp.StatusCode == http.StatusMovedPermanently {
		t.Errorf("POST to an old path redirected: %v %v", err, resp)
	}
}
