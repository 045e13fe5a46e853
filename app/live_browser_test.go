package main_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"site/internal/browsertest"
	"site/internal/testkit"
)

// TestLiveDashboardInChromium runs the real binary (every role in one
// process) and watches the admin dashboard in Chromium: a page viewed by
// another client shows on it within moments (the time is logged), the
// per-minute chart grows, a connection dropped while views are stored
// resumes from Last-Event-ID with exactly the stored count (no gap, no
// duplicate), and a post's reader count goes 1 → 2 → 1 as a second tab
// opens and closes it, on the post page and on the dashboard.
func TestLiveDashboardInChromium(t *testing.T) {
	ctx := browsertest.Browser(t)
	dir := t.TempDir()
	p := StartProc(t, nil, "serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0")
	site := p.Addrs["web"]
	owner := signInOwner(t, site, p.Addrs["setup"], p.Stderr)
	publishPost(t, owner, site, "live-test", "Live test")
	db := openDB(t, filepath.Join(dir, "data.db"))
	stored := func() int { return count(t, db, "SELECT count(*) FROM page_views") }
	// Views stored before the dashboard opens (publishPost viewed the post
	// once): rendered by the page, and replayed into the chart.
	for range 3 {
		get(t, site+"/posts/live-test")
	}
	testkit.WaitFor(t, 15*time.Second, "4 stored page views", func() bool { return stored() == 4 })

	// The dashboard's tab reaches the site through a proxy that can drop
	// the connection (cookies do not depend on the port).
	proxy := newDropProxy(t, strings.TrimPrefix(site, "http://"))
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "session", Value: sessionOf(t, owner, site), URL: site}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(proxy.URL()+"/admin"), chromedp.WaitVisible(chromedp.CSS("#dash-chart"))); err != nil {
		t.Fatal(err)
	}
	figure := func(id string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).dataset.value || ""`, id)))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	attr := func(js string) string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	chartSum := func() string { return attr(`document.getElementById("dash-chart").dataset.sum || ""`) }
	testkit.WaitFor(t, 10*time.Second, "the dashboard's stream", func() bool {
		return attr(`document.getElementById("dashboard").dataset.state`) == "live"
	})
	if v := figure("dash-views-today"); v != "4" {
		t.Errorf("views today = %q, want 4 (rendered by the page)", v)
	}
	testkit.WaitFor(t, 10*time.Second, "the chart rebuilt from the last 15 minutes", func() bool { return chartSum() == "4" })
	// The live dashboard passes axe too.
	found, err := browsertest.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range found {
		t.Errorf("dashboard: %s (%s): %s at %v", v.ID, v.Impact, v.Description, v.Nodes)
	}

	// A page viewed by another client: the dashboard moves, the chart grows.
	viewed := time.Now()
	get(t, site+"/posts/live-test")
	testkit.WaitFor(t, 10*time.Second, "the view on the dashboard", func() bool { return figure("dash-views-today") == "5" })
	took := time.Since(viewed)
	t.Logf("a page view reached the dashboard in %s (the issue's aim: 2 s)", took.Round(time.Millisecond))
	if s := chartSum(); s != "5" {
		t.Errorf("the chart sums %s views, want 5", s)
	}
	if top := attr(`(document.querySelector("#dash-top-now li[data-path]") || {dataset: {}}).dataset.path || ""`); top != "/posts/live-test" {
		t.Errorf("top page now %q, want /posts/live-test", top)
	}

	// The connection drops while views are stored, then comes back: the
	// stream resumes from the last event seen, with nothing missed or twice.
	connects := attr(`document.getElementById("dashboard").dataset.connects`)
	proxy.Drop(true)
	testkit.WaitFor(t, 10*time.Second, "the dashboard to notice the dropped connection", func() bool {
		return attr(`document.getElementById("dashboard").dataset.state`) == "reconnecting"
	})
	for range 5 {
		get(t, site+"/posts/live-test")
	}
	testkit.WaitFor(t, 15*time.Second, "10 stored page views", func() bool { return stored() == 10 })
	if v := figure("dash-views-today"); v != "5" {
		t.Errorf("while offline the dashboard shows %s views", v)
	}
	proxy.Drop(false)
	testkit.WaitFor(t, 20*time.Second, "the dashboard to resume", func() bool { return figure("dash-views-today") == "10" })
	if c := attr(`document.getElementById("dashboard").dataset.connects`); c == connects {
		t.Errorf("connections %s → %s: the stream did not reconnect", connects, c)
	}
	time.Sleep(4 * time.Second) // any duplicate would land by now
	// Resumed from Last-Event-ID: the server sent no event the page had
	// (a fresh stream would have replayed the last 15 minutes).
	if r := attr(`document.getElementById("dashboard").dataset.repeats || "0"`); r != "0" {
		t.Errorf("%s events were sent twice after the reconnect", r)
	}
	if v, s, n := figure("dash-views-today"), chartSum(), stored(); v != "10" || s != "10" || n != 10 {
		t.Errorf("after the reconnect: views today %s, chart %s, stored %d; want 10 each", v, s, n)
	}

	// Reader counts: one tab reads the post, a second opens and closes it.
	reader1, cancel1 := chromedp.NewContext(ctx)
	defer cancel1()
	readers := func(tab context.Context) string {
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](`(() => { const e = document.querySelector("[data-live-post]"); return e.hidden ? "" : e.textContent })()`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := chromedp.Do(reader1, chromedp.Navigate(site+"/posts/live-test")); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, `"1 reading now"`, func() bool { return readers(reader1) == "1 reading now" })
	testkit.WaitFor(t, 10*time.Second, "1 visitor now on the dashboard", func() bool { return figure("dash-readers") == "1" })
	reader2, cancel2 := chromedp.NewContext(ctx)
	if err := chromedp.Do(reader2, chromedp.Navigate(site+"/posts/live-test")); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, `"2 reading now" in both tabs`, func() bool {
		return readers(reader1) == "2 reading now" && readers(reader2) == "2 reading now"
	})
	testkit.WaitFor(t, 10*time.Second, "2 visitors now on the dashboard", func() bool { return figure("dash-readers") == "2" })
	cancel2() // closes the second tab
	testkit.WaitFor(t, 15*time.Second, `"1 reading now" after the second tab closed`, func() bool { return readers(reader1) == "1 reading now" })
	testkit.WaitFor(t, 10*time.Second, "1 visitor now on the dashboard", func() bool { return figure("dash-readers") == "1" })
}

// dropProxy passes TCP connections to a target until Drop(true) cuts
// every one open and refuses new ones, until Drop(false): a network that
// goes away and comes back. (DevTools' offline emulation leaves a
// response already streaming alone.)
type dropProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newDropProxy(t *testing.T, target string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.Drop(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pass(c)
		}
	}()
	return p
}

// URL is the proxy's http:// address.
func (p *dropProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *dropProxy) pass(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// Drop cuts every connection and refuses new ones (true), or lets them
// through again (false).
func (p *dropProxy) Drop(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}
