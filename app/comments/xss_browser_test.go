package comments_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"site/app/comments"
	"site/internal/browsertest"
)

// hookScript runs before any script of every page and frame: __xss is what
// a payload calls when it runs, and alert, confirm and prompt lead to it.
const hookScript = `
window.__xssCalls = [];
window.__xss = function () {
	window.__xssCalls.push(String(location.href));
	try { if (top !== window) top.__xssCalls.push("a frame: " + location.href); } catch (e) {}
};
window.alert = window.confirm = window.prompt = function () { window.__xss(); };
`

// domCheck lists what must never be in the comments section: an element
// that runs or loads something, an on…= attribute, a script URL; and, in a
// comment's body, any element beyond the Markdown subset.
const domCheck = `(() => {
	const root = document.getElementById("comments");
	if (!root) return ["no comments section"];
	const bad = [];
	const never = new Set(["script", "iframe", "object", "embed", "img", "svg", "math", "style", "link", "meta", "base",
		"video", "audio", "source", "frame", "frameset", "applet", "template", "noscript", "xmp", "plaintext", "marquee"]);
	const subset = new Set(["p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"]);
	for (const el of root.querySelectorAll("*")) {
		const name = el.localName;
		if (never.has(name)) bad.push("element " + el.outerHTML.slice(0, 120));
		if (el.closest(".comment-body") && el.localName !== "div" && !subset.has(name)) bad.push("in a body: " + el.outerHTML.slice(0, 120));
		for (const a of el.attributes) {
			const v = a.value.replace(/[\u0000-\u0020]/g, "").toLowerCase();
			if (a.name.toLowerCase().startsWith("on")) bad.push("handler " + a.name + " on " + name);
			if (/^(javascript|vbscript|data):/.test(v)) bad.push("script URL " + a.name + "=" + a.value);
			if (a.name === "style") bad.push("style on " + name);
		}
	}
	return bad;
})()`

// TestXSSCorpusInChromium posts every payload of testdata/xss.txt as a
// comment through the real route (under a hostile display name too), then
// shows them in Chromium with the Content-Security-Policy bypassed, so the
// sanitizer stands alone: the anonymous page, the writer's own page (each
// comment's Markdown in its edit box), and comments.js inserting each from
// a live event. No payload may run, and the comments section may hold no
// script, handler or script URL.
func TestXSSCorpusInChromium(t *testing.T) {
	ctx := browsertest.Browser(t)
	s := newSite(t, func(s *site) {
		s.comments.Moderation = comments.ModerateNone
		s.comments.Limits = comments.Limits{MaxLinks: 1000, PerReader: 100000, PerIP: 100000}
	})
	mallory := s.reader(t, "mallory@example.org", `"><img src=x onerror=__xss()>`, false)
	payloads := xssPayloads(t)
	for _, p := range payloads {
		resp, body := mallory.comment(t, "hello", p)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("payload %q not stored: %d\n%s", p, resp.StatusCode, body)
		}
	}
	stored, err := s.store.List(context.Background(), s.post.ID, 0)
	if err != nil || len(stored) != len(payloads) {
		t.Fatalf("%d comments stored for %d payloads (%v)", len(stored), len(payloads), err)
	}

	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: hookScript}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, wantComments int) {
		t.Helper()
		// Let anything a payload started (loads, focus, animations) happen.
		if err := chromedp.Do(ctx, chromedp.Sleep(1500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		calls, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__xssCalls`))
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) > 0 {
			t.Errorf("%s: a payload ran (%d calls: %v)", what, len(calls), calls)
		}
		bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](domCheck))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Errorf("%s: %s", what, b)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#comments .comment").length`))
		if err != nil || n != wantComments {
			t.Errorf("%s: %d comments shown, want %d (%v)", what, n, wantComments, err)
		}
	}

	// The anonymous page (the one cached for every reader).
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/posts/hello"), chromedp.WaitReady(chromedp.CSS("#comments"))); err != nil {
		t.Fatal(err)
	}
	check("anonymous page", len(payloads))

	// The writer's page: every comment in its edit box, the form, the name.
	su, _ := url.Parse(s.URL)
	for _, c := range mallory.Jar.Cookies(su) {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: s.URL}); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/posts/hello"), chromedp.WaitReady(chromedp.CSS("#comment-form"))); err != nil {
		t.Fatal(err)
	}
	edits, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#comments .comment-edit textarea").length`))
	if err != nil || edits != len(payloads) {
		t.Fatalf("%d edit boxes on the writer's page, want %d (%v)", edits, len(payloads), err)
	}
	check("the writer's page", len(payloads))

	// comments.js inserting each as a live event on another post's page.
	s.addPost(t, "other", time.Now().Add(-time.Hour))
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/posts/other"), chromedp.WaitReady(chromedp.CSS("#comments"))); err != nil {
		t.Fatal(err)
	}
	var events []any
	for _, c := range stored {
		e := comments.Event(c)
		e.Post = "other"
		events = append(events, e)
	}
	data, _ := json.Marshal(events)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		for (const data of `+string(data)+`)
			document.dispatchEvent(new CustomEvent("live:event", {detail: {name: "events.comments.other", id: 0, data}}));
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	check("live insertion", len(payloads))

	// Control: the same checks catch a payload that is not sanitized.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const li = document.createElement("li");
		li.className = "comment";
		li.innerHTML = '<div class="comment-body"><img src=x onerror=__xss()><a href="javascript:x">x</a></div>';
		document.querySelector("[data-comment-list]").append(li);
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	calls, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__xssCalls`))
	bad, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](domCheck))
	if len(calls) != 1 || len(bad) < 3 {
		t.Fatalf("the control payload was not caught: %d calls, findings %v", len(calls), bad)
	}
}
