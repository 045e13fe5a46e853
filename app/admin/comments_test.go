package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"site/app/admin"
	"site/app/comments"
	"site/app/content"
	"site/app/events"
	"site/app/jobs"
	"site/app/live"
	"site/internal/browsertest"
	"site/internal/testkit"
)

// queueFixture is the panel with a post, two readers and comments of every
// status, one imported.
type queueFixture struct {
	*panel
	owner                    *http.Client
	post                     *content.Post
	ann, bob                 int64
	annHeld, annHeld2, bobOK int64
	bobHeld, rejected, disq  int64
}

func newQueueFixture(t *testing.T) *queueFixture {
	t.Helper()
	f := &queueFixture{panel: newPanel(t)}
	f.seed(t)
	return f
}

// seed makes the admin, the post, the readers and their comments.
func (f *queueFixture) seed(t *testing.T) {
	t.Helper()
	if _, err := f.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	f.owner = f.client(t, "owner@example.org")
	f.post = &content.Post{Kind: content.KindPost, Slug: "hello", Title: "Hello world", Status: content.StatusPublished}
	if _, err := f.admin.Content.Save(t.Context(), f.post); err != nil {
		t.Fatal(err)
	}
	user := func(addr string) int64 {
		var id int64
		if err := f.admin.Data.Write.QueryRow(`INSERT INTO users (address, display_name, created_at) VALUES (?, ?, 1) RETURNING id`,
			addr, addr).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	f.ann, f.bob = user("ann@example.org"), user("+15551234567")
	store := comments.NewStore(f.admin.Data)
	add := func(c comments.Comment) int64 {
		c.PostID = f.post.ID
		if _, err := store.Add(t.Context(), &c); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	f.bobOK = add(comments.Comment{UserID: f.bob, Author: "Bob", Body: "Approved words.", Status: comments.Approved})
	f.annHeld = add(comments.Comment{UserID: f.ann, Author: "Ann", Body: "Held *one* <script>window.__x=1</script>", Status: comments.Held})
	f.annHeld2 = add(comments.Comment{UserID: f.ann, Author: "Ann", Body: "Held two.", Status: comments.Held, ParentID: f.bobOK})
	f.bobHeld = add(comments.Comment{UserID: f.bob, Author: "Bob", Body: "Bob waits.", Status: comments.Held})
	f.rejected = add(comments.Comment{UserID: f.bob, Author: "Bob", Body: "Rejected words.", Status: comments.Rejected})
	f.disq = add(comments.Comment{Author: "Old reader", Body: "From Disqus.", HTML: "<p>From Disqus.</p>", Status: comments.Approved,
		Source: comments.SourceDisqus, SourceID: "d-1"})
}

func (f *queueFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := f.owner.Get(f.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// act posts the queue's form and follows its redirect; it returns the
// page the admin lands on.
func (f *queueFixture) act(t *testing.T, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/admin/comments/action", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.owner.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return resp.StatusCode, ""
	}
	return f.get(t, resp.Header.Get("Location"))
}

func (f *queueFixture) status(t *testing.T, id int64) string {
	t.Helper()
	var s string
	if err := f.admin.Data.Read.QueryRow(`SELECT status FROM comments WHERE id = ?`, id).Scan(&s); err != nil {
		return "gone"
	}
	return s
}

func (f *queueFixture) audits(t *testing.T, action string) int {
	t.Helper()
	var n int
	if err := f.admin.Data.Read.QueryRow(`SELECT count(*) FROM audit_log WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCommentQueueLists(t *testing.T) {
	f := newQueueFixture(t)
	code, body := f.get(t, "/admin/comments")
	if code != 200 {
		t.Fatalf("queue: %d\n%s", code, body)
	}
	for _, want := range []string{"Held (3)", "Approved (2)", "Rejected (1)", "All (6)", "3 comments.", "ann@example.org",
		"+15551234567", "Held <em>one</em>", "Bob waits.", `href="/posts/hello#comment-`, "reply on", "/assets/admin-comments.",
		`Comments <span class="nav-count">3<span class="visually-hidden"> waiting for approval</span></span></a>`,
		`name="one" value="approve:` + strconv.FormatInt(f.annHeld, 10) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("queue lacks %q", want)
		}
	}
	for _, not := range []string{"Approved words.", "Rejected words.", "<script>window.__x"} {
		if strings.Contains(body, not) {
			t.Errorf("the held queue shows %q", not)
		}
	}
	// Held ones oldest first.
	if i, j := strings.Index(body, "Held <em>one</em>"), strings.Index(body, "Bob waits."); i > j {
		t.Errorf("held comments not oldest first")
	}
	_, all := f.get(t, "/admin/comments?status=all")
	for _, want := range []string{"6 comments.", "Approved words.", "Rejected words.", "imported from disqus"} {
		if !strings.Contains(all, want) {
			t.Errorf("all comments lack %q", want)
		}
	}
	if code, _ := f.get(t, "/admin/comments?page=x"); code != 404 {
		t.Errorf("page=x: %d", code)
	}
}

func TestCommentQueueActions(t *testing.T) {
	f := newQueueFixture(t)
	id := func(n int64) string { return strconv.FormatInt(n, 10) }

	_, page := f.act(t, url.Values{"one": {"approve:" + id(f.annHeld)}})
	if f.status(t, f.annHeld) != "approved" || !strings.Contains(page, "1 comment approved.") || f.audits(t, "comment.approve") != 1 {
		t.Fatalf("approve one: %s, audits %d\n%s", f.status(t, f.annHeld), f.audits(t, "comment.approve"), page)
	}

	// Bulk: the checked ones, whatever their status.
	_, page = f.act(t, url.Values{"action": {"reject"}, "id": {id(f.annHeld), id(f.bobOK)}, "status": {"all"}})
	if f.status(t, f.annHeld) != "rejected" || f.status(t, f.bobOK) != "rejected" || !strings.Contains(page, "2 comments rejected.") ||
		!strings.Contains(page, "6 comments.") || f.audits(t, "comment.reject") != 2 {
		t.Errorf("bulk reject: %s %s\n%s", f.status(t, f.annHeld), f.status(t, f.bobOK), page)
	}
	if _, page = f.act(t, url.Values{"action": {"approve"}}); !strings.Contains(page, "select at least one comment") {
		t.Errorf("nothing selected:\n%s", page)
	}
	if code, _ := f.act(t, url.Values{"action": {"publish"}, "id": {id(f.bobHeld)}}); code != 400 {
		t.Errorf("unknown action: %d", code)
	}

	// Ban: the reader is banned, their held comments rejected.
	_, page = f.act(t, url.Values{"one": {"ban:" + id(f.annHeld2)}})
	var banned int
	_ = f.admin.Data.Read.QueryRow(`SELECT count(*) FROM comment_bans WHERE user_id = ?`, f.ann).Scan(&banned)
	if banned != 1 || f.status(t, f.annHeld2) != "rejected" || !strings.Contains(page, "1 reader banned.") {
		t.Errorf("ban: banned %d, held comment %s\n%s", banned, f.status(t, f.annHeld2), page)
	}
	// An imported comment has no reader to ban.
	if _, page = f.act(t, url.Values{"one": {"ban:" + id(f.disq)}}); !strings.Contains(page, "1 skipped") {
		t.Errorf("ban of an imported comment:\n%s", page)
	}
	// Delete a top-level comment: gone.
	if _, page = f.act(t, url.Values{"one": {"delete:" + id(f.bobHeld)}}); f.status(t, f.bobHeld) != "gone" || !strings.Contains(page, "1 comment deleted.") {
		t.Errorf("delete: %s\n%s", f.status(t, f.bobHeld), page)
	}
}

func TestCommentExport(t *testing.T) {
	f := newQueueFixture(t)
	resp, err := f.owner.Get(f.URL + "/admin/comments/export.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	var doc admin.CommentExport
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Format != admin.CommentExportFormat || len(doc.Comments) != 6 {
		t.Fatalf("export: %+v", doc)
	}
	for i, c := range doc.Comments {
		if i > 0 && c.ID <= doc.Comments[i-1].ID {
			t.Errorf("comments not in id order: %d after %d", c.ID, doc.Comments[i-1].ID)
		}
		if c.PostSlug != "hello" || c.PostKind != "post" || c.HTML == "" || c.Body == "" || c.CreatedAt.IsZero() {
			t.Errorf("comment %+v", c)
		}
	}
	reply := doc.Comments[2]
	if reply.ID != f.annHeld2 || reply.ParentID == nil || *reply.ParentID != f.bobOK || reply.UserID == nil || *reply.UserID != f.ann ||
		reply.Address != "ann@example.org" || reply.Status != "held" || reply.ApprovedAt != nil || reply.SourceID != nil || reply.Source != "site" {
		t.Errorf("reply %+v", reply)
	}
	imp := doc.Comments[5]
	if imp.Source != "disqus" || imp.SourceID == nil || *imp.SourceID != "d-1" || imp.UserID != nil || imp.ApprovedAt == nil {
		t.Errorf("imported %+v", imp)
	}
	if f.audits(t, "comments.export") != 1 {
		t.Errorf("the export is not in the audit log")
	}
}

// TestCommentQueueInBrowser: the queue passes axe with comments listed,
// and its keys work: j moves to the first comment, a approves it, x and the
// bulk button reject another.
func TestCommentQueueInBrowser(t *testing.T) {
	ctx := browsertest.Browser(t)
	f := newQueueFixture(t)
	u, err := f.auth.GrantAdmin(t.Context(), "owner@example.org")
	if err != nil {
		t.Fatal(err)
	}
	token, err := f.auth.NewSession(t.Context(), u, "test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "session", Value: token, URL: f.URL}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(f.URL+"/admin/comments"), chromedp.WaitVisible(chromedp.CSS("#queue-keys"))); err != nil {
		t.Fatal(err)
	}
	found, err := browsertest.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range found {
		t.Errorf("axe: %s (%s): %s at %v", v.ID, v.Impact, v.Description, v.Nodes)
	}
	// j: the first held comment (Ann's, the oldest); a: approve it.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("j"), chromedp.KeyEvent("a")); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "Ann's comment approved by the keys j, a", func() bool { return f.status(t, f.annHeld) == "approved" })
	notice := func(want string) {
		t.Helper()
		var text string
		testkit.WaitFor(t, 10*time.Second, "the notice "+want, func() bool {
			text, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice")))
			return strings.Contains(text, want)
		})
	}
	notice("1 comment approved")
	// Now the first is Ann's reply: j, x selects it; the bulk Reject acts
	// on it alone. The queue is loaded afresh first, so that the keys go to
	// a page whose script is running and whose first item is known: Ann's
	// reply, the oldest held now. (The help line shows once the script runs.)
	if err := chromedp.Do(ctx, chromedp.Navigate(f.URL+"/admin/comments"), chromedp.WaitVisible(chromedp.CSS("#queue-keys"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("j"), chromedp.KeyEvent("x")); err != nil {
		t.Fatal(err)
	}
	// The bulk button is pressed from the page, not by a mouse click at
	// its coordinates: the queue's live line can appear above it at any
	// moment (a replayed comment event) and move it under the pointer.
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const boxes = [...document.querySelectorAll(".queue-item input[type=checkbox]:checked")].map(b => b.value).join(",");
		document.querySelector('.queue-bulk button[value="reject"]').click();
		return boxes;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checked by j, x: %q", checked)
	testkit.WaitFor(t, 10*time.Second, "Ann's reply rejected", func() bool { return f.status(t, f.annHeld2) == "rejected" })
	notice("1 comment rejected")
	if s := f.status(t, f.bobHeld); s != "held" {
		t.Errorf("Bob's comment, not selected, is %s", s)
	}
}

// TestCommentQueueLive: the queue names its stream, and the stream carries
// each comment event — here the approval the queue itself made, published
// by the moderator on events.comments.<post>.
func TestCommentQueueLive(t *testing.T) {
	b := testkit.NATS(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := jobs.EnsureStreams(ctx, b.JetStream); err != nil {
		t.Fatal(err)
	}
	hub, err := live.New(live.Config{NC: b.Conn, JS: b.JetStream, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	f := &queueFixture{}
	f.panel = newPanel(t, func(a *admin.Admin) { a.NC, a.JS, a.Live = b.Conn, b.JetStream, hub })
	f.seed(t)
	if _, page := f.get(t, "/admin/comments"); !strings.Contains(page, `data-stream="/admin/comments/live"`) {
		t.Fatalf("the queue names no stream")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.URL+"/admin/comments/live", nil)
	resp, err := f.owner.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok && event == "events.comments.hello" {
				got <- v
				return
			}
		}
	}()
	// The stream follows from when it opened: approve once it is attached.
	testkit.WaitFor(t, 10*time.Second, "the queue's stream to open", func() bool { return hub.Streams() == 1 })
	f.act(t, url.Values{"one": {"approve:" + strconv.FormatInt(f.annHeld, 10)}})
	select {
	case data := <-got:
		var e events.Comment
		if err := json.Unmarshal([]byte(data), &e); err != nil || e.ID != strconv.FormatInt(f.annHeld, 10) || e.Held || e.Author != "Ann" {
			t.Errorf("event %s (%v)", data, err)
		}
	case <-ctx.Done():
		t.Fatal("no comment event on the queue's stream")
	}
}
