package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"site/app/content"
	"site/internal/browsertest"
)

// TestAdminPagesAccessible opens every page of the panel (each GET route
// of its route table that answers HTML) in Chromium as a signed-in admin
// and runs axe-core on it: no serious or critical finding. A new page is
// checked without anyone adding it here.
func TestAdminPagesAccessible(t *testing.T) {
	ctx := browsertest.Browser(t)
	p := newPanel(t)
	u, err := p.auth.GrantAdmin(t.Context(), "owner@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.admin.Content.Save(t.Context(), &content.Post{Kind: content.KindPost, Slug: "hello", Title: "Hello",
		Body: "Some *words*.", Status: content.StatusDraft}); err != nil {
		t.Fatal(err)
	}
	token, err := p.auth.NewSession(t.Context(), u, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	site, _ := url.Parse(p.URL)
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "session", Value: token,
		URL: p.URL}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{}
	checked := 0
	for _, rt := range p.admin.Routes() {
		method, path := samplePath(rt.Pattern)
		if method != http.MethodGet {
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, p.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: "session", Value: token})
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue // a download, a JSON status, or a sample id that names nothing
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(site.Scheme+"://"+site.Host+path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		found, err := browsertest.Axe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range found {
			t.Errorf("%s: %s (%s): %s at %v", path, v.ID, v.Impact, v.Description, v.Nodes)
		}
		checked++
	}
	if checked < 2 {
		t.Fatalf("only %d admin pages checked", checked)
	}
	t.Logf("%d admin pages checked", checked)
}
