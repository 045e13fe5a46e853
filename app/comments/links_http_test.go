package comments_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"site/app/auth"
	"site/app/comments"
	"site/app/content"
	"site/app/events"
	"site/app/web"
	"site/internal/testkit"
)

// linkSite is the site with comments and the pages of the mails' signed
// links mounted as the web role mounts them, publishing live events on a
// real NATS server; signer signs links with the site's key on the test's
// clock.
type linkSite struct {
	*site
	nc     *nats.Conn
	signer *comments.Signer
}

func newLinkSite(t *testing.T) *linkSite {
	t.Helper()
	broker := testkit.NATS(t)
	s := &site{data: testkit.DataDB(t), ttl: testkit.TTLDB(t), clock: &clock{t: time.Now()}}
	s.auth = &auth.Auth{Data: s.data, TTL: s.ttl, Key: []byte("0123456789abcdef0123456789abcdef"), SiteName: "Test"}
	s.shell = web.NewServer()
	s.shell.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s.shell.SiteName = "Test"
	s.content = content.NewStore(s.data)
	s.shell.Content = s.content
	s.sign = &auth.Web{Auth: s.auth, Shell: s.shell}
	s.store = comments.NewStore(s.data)
	s.comments = &comments.Web{Store: s.store, Content: s.content, Auth: s.sign, Shell: s.shell, NC: broker.Conn,
		Moderation: comments.ModerateFirst, Logger: s.shell.Logger, Now: s.clock.now}
	ls := &linkSite{site: s, nc: broker.Conn, signer: &comments.Signer{Key: s.auth.Key, Now: s.clock.now}}
	links := &comments.LinkPages{Signer: &comments.Signer{Key: s.auth.Key, Now: s.clock.now}, Shell: s.shell, Logger: s.shell.Logger,
		Moderator: &comments.Moderator{Store: s.store, NC: broker.Conn, Logger: s.shell.Logger}}
	s.shell.Groups = []web.Group{s.sign, links}
	s.comments.Mount(s.shell)
	s.shell.SignedIn = s.sign.SignedIn
	s.Server = httptest.NewServer(s.shell.Handler())
	t.Cleanup(s.Close)
	s.auth.SiteURL = s.URL
	s.post = s.addPost(t, "hello", time.Now().Add(-time.Hour))
	return ls
}

// open fetches a link (relative to the site) as a mail scanner or a
// person would, without signing in.
func (s *linkSite) open(t *testing.T, link string) (int, string) {
	t.Helper()
	return s.anonymous().get(t, strings.TrimPrefix(link, s.URL))
}

// confirm posts a link's fields, as its page's button does.
func (s *linkSite) confirm(t *testing.T, link string) (int, string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := s.anonymous().send(t, u.Path, u.Query(), false)
	return resp.StatusCode, body
}

func (s *linkSite) status(t *testing.T, id int64) comments.Status {
	t.Helper()
	c, err := s.store.Get(t.Context(), id)
	if err != nil {
		return "gone"
	}
	return c.Status
}

// TestModerationLinks: a moderation link's GET only asks (a mail scanner
// acts on nothing), its POST acts; an approval by link publishes the live
// event; a changed link is refused with 403, an expired one with 410, and
// neither acts; a ban by link stops the reader posting.
func TestModerationLinks(t *testing.T) {
	s := newLinkSite(t)
	ann := s.reader(t, "ann@example.org", "Ann", false)
	first := ann.posted(t, "hello", "My first comment, held.")
	second := ann.posted(t, "hello", "A second one, held too.")
	if s.status(t, first) != comments.Held {
		t.Fatalf("first comment %s, want held", s.status(t, first))
	}
	approve := s.signer.URL(s.URL, comments.ActionApprove, first)

	// The GET shows the comment and a button, and does nothing.
	code, page := s.open(t, approve)
	if code != 200 || !strings.Contains(page, "Approve this comment?") || !strings.Contains(page, "My first comment, held.") ||
		!strings.Contains(page, "ann@example.org") || !strings.Contains(page, `<button type="submit">Approve</button>`) {
		t.Fatalf("approve page: %d\n%s", code, page)
	}
	if s.status(t, first) != comments.Held {
		t.Fatalf("opening the link acted: %s", s.status(t, first))
	}

	// Changed links: 403, nothing done, by GET or POST.
	u, _ := url.Parse(approve)
	changes := map[string]func(url.Values){
		"signature":   func(v url.Values) { v.Set("sig", strings.Repeat("A", 43)) },
		"comment":     func(v url.Values) { v.Set("id", strconv.FormatInt(second, 10)) },
		"action":      func(v url.Values) { v.Set("a", comments.ActionDelete) },
		"expiry":      func(v url.Values) { v.Set("exp", strconv.FormatInt(time.Now().Add(365*24*time.Hour).Unix(), 10)) },
		"no sig":      func(v url.Values) { v.Del("sig") },
		"unsubscribe": nil,
	}
	for name, change := range changes {
		var link string
		if change == nil {
			// A valid unsubscribe link is no moderation link.
			link = strings.Replace(s.signer.URL(s.URL, comments.ActionUnsubscribe, first), comments.UnsubscribePath, comments.ModeratePath, 1)
		} else {
			q := u.Query()
			change(q)
			link = s.URL + comments.ModeratePath + "?" + q.Encode()
		}
		if code, page := s.open(t, link); code != 403 || !strings.Contains(page, "This link is not valid") {
			t.Errorf("changed %s, GET: %d", name, code)
		}
		if code, page := s.confirm(t, link); code != 403 || !strings.Contains(page, "This link is not valid") {
			t.Errorf("changed %s, POST: %d", name, code)
		}
	}
	if s.status(t, first) != comments.Held || s.status(t, second) != comments.Held {
		t.Fatalf("a changed link acted: %s %s", s.status(t, first), s.status(t, second))
	}

	// Expired: 410, nothing done.
	old := &comments.Signer{Key: s.auth.Key, Now: func() time.Time { return s.clock.now().Add(-comments.ModerationLinkTTL - time.Minute) }}
	expired := old.URL(s.URL, comments.ActionDelete, second)
	if code, page := s.open(t, expired); code != 410 || !strings.Contains(page, "This link has expired") {
		t.Errorf("expired GET: %d\n%s", code, page)
	}
	if code, _ := s.confirm(t, expired); code != 410 || s.status(t, second) != comments.Held {
		t.Errorf("expired POST: %d, comment %s", code, s.status(t, second))
	}

	// The button: approved, and everyone reading the post hears of it.
	events := subscribe(t, s.nc, "hello")
	code, page = s.confirm(t, approve)
	if code != 200 || !strings.Contains(page, "Approved: readers see it now.") || s.status(t, first) != comments.Approved {
		t.Fatalf("approve: %d %s\n%s", code, s.status(t, first), page)
	}
	select {
	case msg := <-events:
		var e eventsComment
		if err := json.Unmarshal(msg.Data, &e); err != nil || e.ID != strconv.FormatInt(first, 10) || e.Held ||
			!strings.Contains(e.Body, "My first comment, held.") || e.Author != "Ann" {
			t.Errorf("live event %s (%v)", msg.Data, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no live event after the approval by link")
	}
	if code, page := s.open(t, approve); code != 200 || !strings.Contains(page, "Already approved") || strings.Contains(page, "<form method=\"post\" action=\"/comments/moderate\"") {
		t.Errorf("the link again: %d\n%s", code, page)
	}
	var audited int
	_ = s.data.Read.QueryRow(`SELECT count(*) FROM audit_log WHERE action = 'comment.approve' AND address = 'signed link'`).Scan(&audited)
	if audited != 1 {
		t.Errorf("%d audit entries of the approval", audited)
	}

	// Ban by link: the held comment is rejected and the reader can no
	// longer post.
	ban := s.signer.URL(s.URL, comments.ActionBan, second)
	if code, page := s.confirm(t, ban); code != 200 || !strings.Contains(page, "Banned") || s.status(t, second) != comments.Rejected {
		t.Fatalf("ban: %d %s\n%s", code, s.status(t, second), page)
	}
	// (The post page offers a banned reader no form; a form sent anyway is
	// refused, the text kept.)
	resp, body := ann.send(t, "/posts/hello/comments", url.Values{"name": {"Ann"}, "body": {"Still here?"}}, false)
	if resp.StatusCode != 403 || !strings.Contains(body, "can no longer comment") || !textKept(body, "Still here?") {
		t.Errorf("a banned reader posting: %d\n%s", resp.StatusCode, body)
	}

	// Delete by link; the link again finds nothing.
	del := s.signer.URL(s.URL, comments.ActionDelete, first)
	if code, _ := s.confirm(t, del); code != 200 || s.status(t, first) != "gone" {
		t.Errorf("delete: %d %s", code, s.status(t, first))
	}
	if code, page := s.open(t, del); code != 404 || !strings.Contains(page, "This comment is gone") {
		t.Errorf("a link to a deleted comment: %d", code)
	}
}

// eventsComment is events.Comment as JSON.
type eventsComment = events.Comment

// TestUnsubscribeLink: the reader's link asks first, then turns their reply
// emails off, without signing in; changed or expired, it is refused.
func TestUnsubscribeLink(t *testing.T) {
	s := newLinkSite(t)
	ann := s.reader(t, "ann@example.org", "Ann", false)
	id := ann.posted(t, "hello", "Tell me of replies.", "notify", "on")
	notify := func() bool {
		c, err := s.store.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Notify
	}
	if !notify() {
		t.Fatal("the comment does not ask for replies")
	}
	link := s.signer.URL(s.URL, comments.ActionUnsubscribe, ann.user.ID)
	if code, page := s.open(t, link); code != 200 || !strings.Contains(page, "Stop emails about replies?") || !notify() {
		t.Fatalf("unsubscribe page: %d, notify %v\n%s", code, notify(), page)
	}
	changed := strings.Replace(link, "id="+strconv.FormatInt(ann.user.ID, 10), "id="+strconv.FormatInt(ann.user.ID+1, 10), 1)
	if code, _ := s.confirm(t, changed); code != 403 || !notify() {
		t.Errorf("changed link: %d, notify %v", code, notify())
	}
	moderation := strings.Replace(s.signer.URL(s.URL, comments.ActionReject, id), comments.ModeratePath, comments.UnsubscribePath, 1)
	if code, _ := s.confirm(t, moderation); code != 403 {
		t.Errorf("a moderation link on the unsubscribe page: %d", code)
	}
	old := &comments.Signer{Key: s.auth.Key, Now: func() time.Time { return s.clock.now().Add(-comments.UnsubscribeLinkTTL - time.Minute) }}
	if code, page := s.confirm(t, old.URL(s.URL, comments.ActionUnsubscribe, ann.user.ID)); code != 410 || !strings.Contains(page, "expired") || !notify() {
		t.Errorf("expired link: %d, notify %v", code, notify())
	}
	if code, page := s.confirm(t, link); code != 200 || !strings.Contains(page, "no more emails about replies") || notify() {
		t.Errorf("unsubscribe: %d, notify %v\n%s", code, notify(), page)
	}
}

// TestLinkRoutesHostile: the signed links' pages answer what an attacker
// or a broken client sends with a refusal, never a 5xx: no query, a long
// query, a body on a GET, other methods (405), a cross-site POST (403), an
// oversized form (413), a signature of the wrong shape.
func TestLinkRoutesHostile(t *testing.T) {
	s := newLinkSite(t)
	do := func(method, target, body string, header ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{comments.ModeratePath, comments.UnsubscribePath} {
		cases := []struct {
			name, method, target, body string
			header                     []string
			want                       int
		}{
			{"no query", "GET", path, "", nil, 403},
			{"HEAD", "HEAD", path, "", nil, 403},
			{"60 KB query", "GET", path + "?a=approve&id=1&exp=1&sig=" + strings.Repeat("A", 60_000), "", nil, 403},
			{"garbage", "GET", path + "?a=%00&id=-1&exp=x&sig=%ff", "", nil, 403},
			{"a body on a GET", "GET", path, "a=approve&id=1", nil, 403},
			{"PUT", "PUT", path, "", []string{"Sec-Fetch-Site", "same-origin"}, 405},
			{"DELETE", "DELETE", path, "", []string{"Sec-Fetch-Site", "same-origin"}, 405},
			{"cross-site POST", "POST", path, "a=approve", []string{"Sec-Fetch-Site", "cross-site"}, 403},
			{"empty POST", "POST", path, "", []string{"Sec-Fetch-Site", "same-origin"}, 403},
			{"8 MiB form", "POST", path, "a=" + strings.Repeat("x", 8<<20), []string{"Sec-Fetch-Site", "same-origin"}, 413},
		}
		for _, c := range cases {
			if code := do(c.method, c.target, c.body, c.header...); code != c.want {
				t.Errorf("%s %s (%s): %d, want %d", c.method, path, c.name, code, c.want)
			}
		}
	}
}
