package comments_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"site/app/comments"
	"site/app/jobs"
	"site/app/live"
	"site/internal/browsertest"
	"site/internal/testkit"
)

// liveSite is the site with the live hub and the post pages' stream
// (live.Posts) mounted, as the web role has them, on a real NATS with the
// EVENTS stream; the comments' clock is the real one.
func liveSite(t *testing.T, configure ...func(*site)) (*site, *testkit.Broker) {
	t.Helper()
	b := testkit.NATS(t)
	if err := jobs.EnsureStreams(context.Background(), b.JetStream); err != nil {
		t.Fatal(err)
	}
	hub, err := live.New(live.Config{NC: b.Conn, JS: b.JetStream, Stream: jobs.StreamEvents, MaxPerIP: 1000})
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(t, append([]func(*site){func(s *site) {
		s.comments.NC, s.comments.Now = b.Conn, time.Now
		s.shell.Groups = append(s.shell.Groups, &live.Posts{Hub: hub, Content: s.content})
	}}, configure...)...)
	// Registered after the server: runs before it closes (the hub holds
	// the streams it took over).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hub.Close(ctx)
	})
	return s, b
}

// signInBrowser gives a Chromium tab the session of a reader's browser.
func signInBrowser(t *testing.T, ctx context.Context, s *site, b *browser) {
	t.Helper()
	su, _ := url.Parse(s.URL)
	for _, c := range b.Jar.Cookies(su) {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: s.URL}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestApprovedCommentAppearsLive: two browsers. Reader B has the post open.
// Reader A comments (posted by comments.js, no reload): held, A sees it
// marked, B does not. The admin approves: B sees it appear without a
// reload, once, and the count moves.
func TestApprovedCommentAppearsLive(t *testing.T) {
	s, nb := liveSite(t)
	ctxA, ctxB := browsertest.Browser(t), browsertest.Browser(t)
	ada := s.reader(t, "ada@example.org", "Ada", false)
	signInBrowser(t, ctxA, s, ada)

	// B first, so its stream is open before anything happens.
	err := chromedp.Do(ctxB,
		chromedp.Navigate(s.URL+"/posts/hello"),
		chromedp.WaitReady(chromedp.CSS("#comments")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctxB, chromedp.Evaluate[bool](`window.__sameDocument = true`)); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 20*time.Second, "B's stream to count one reader", func() bool {
		text, err := chromedp.Run(ctxB, chromedp.Evaluate[string](`(document.querySelector("[data-live-post]") || {}).textContent || ""`))
		return err == nil && strings.Contains(text, "reading now")
	})

	err = chromedp.Do(ctxA,
		chromedp.Navigate(s.URL+"/posts/hello"),
		chromedp.WaitVisible(chromedp.CSS("#comment-body")),
		chromedp.SendKeys(chromedp.CSS("#comment-body"), "Live *news* from A"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctxA, chromedp.Evaluate[bool](`window.__sameDocument = true`)); err != nil {
		t.Fatal(err)
	}
	// People take more than the form's minimum time to write.
	if err := chromedp.Do(ctxA, chromedp.Sleep(comments.DefaultMinFill+500*time.Millisecond),
		chromedp.Click(chromedp.CSS("#comment-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#comments .comment-held")),
	); err != nil {
		shown, _ := chromedp.Run(ctxA, chromedp.Evaluate[string](`document.querySelector("[data-comment-error]").textContent`))
		t.Fatalf("%v (the form says %q)", err, shown)
	}
	idText, err := chromedp.Run(ctxA, chromedp.Evaluate[string](`document.querySelector("#comments .comment-held").dataset.commentId`))
	if err != nil {
		t.Fatal(err)
	}
	same, err := chromedp.Run(ctxA, chromedp.Evaluate[bool](`window.__sameDocument === true && document.getElementById("comment-body").value === ""`))
	if err != nil || !same {
		t.Fatalf("A's page reloaded or kept the text after posting (%v)", err)
	}
	// The section as a signed-in reader has it (form, held comment, edit
	// and delete) and as everyone else has it meet the accessibility rules.
	accessible(t, ctxA, "the writer's post page")
	id, _ := strconv.ParseInt(idText, 10, 64)
	c, err := s.store.Get(context.Background(), id)
	if err != nil || c.Status != comments.Held || c.Body != "Live *news* from A" {
		t.Fatalf("stored %+v %v", c, err)
	}

	// The held event reached B (its stream is open) and was ignored.
	if err := chromedp.Do(ctxB, chromedp.Sleep(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, _ := chromedp.Run(ctxB, chromedp.Evaluate[int](`document.querySelectorAll("#comments .comment").length`)); n != 0 {
		t.Fatalf("B shows %d comments while the only one is held", n)
	}

	// The admin approves (what the moderation queue does): the comment's
	// status, then its live event.
	approved, _, err := s.store.SetStatus(context.Background(), id, comments.Approved)
	if err != nil {
		t.Fatal(err)
	}
	if err := comments.Announce(nb.Conn, approved); err != nil {
		t.Fatal(err)
	}
	sel := "#comment-" + idText
	if err := chromedp.Do(ctxB, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("B never saw the approved comment: %v", err)
	}
	got, err := chromedp.Run(ctxB, chromedp.Evaluate[[]string](`[
		String(window.__sameDocument === true),
		document.querySelector("`+sel+` .comment-author").textContent,
		document.querySelector("`+sel+` .comment-body").innerHTML,
		document.querySelector("[data-comment-count]").textContent,
		String(document.querySelectorAll("#comments .comment").length)]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"true", "Ada", "<p>Live <em>news</em> from A</p>", "1 comment", "1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("B's page after approval: %q, want %q", got, want)
	}
	accessible(t, ctxB, "a reader's post page with a live comment")
	// A second event for it (approved twice, a replay) adds nothing.
	if err := comments.Announce(nb.Conn, approved); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctxB, chromedp.Sleep(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, _ := chromedp.Run(ctxB, chromedp.Evaluate[int](`document.querySelectorAll("#comments .comment").length`)); n != 1 {
		t.Fatalf("B shows %d comments after the event came twice", n)
	}
}

// accessible fails the test on any serious or critical axe-core finding on
// the page the tab shows.
func accessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	found, err := browsertest.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range found {
		t.Errorf("%s: %s (%s): %s at %v", page, v.ID, v.Impact, v.Description, v.Nodes)
	}
}
