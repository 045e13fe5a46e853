package comments_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"site/app/comments"
	"site/app/events"
	"site/internal/testkit"
)

// TestCommentWithoutJavaScript: a reader's first comment goes through the
// plain form, comes back to the post at its anchor, waits for approval
// (seen by its writer only, marked), and shows to everyone once approved;
// their next one shows at once ("first" policy), and a reply nests under it.
func TestCommentWithoutJavaScript(t *testing.T) {
	s := newSite(t)
	ada, anon := s.reader(t, "ada@example.org", "Ada", false), s.anonymous()

	_, page := anon.get(t, "/posts/hello")
	if !strings.Contains(page, "Sign in to comment") || !strings.Contains(page, `href="/signin?next=%2Fposts%2Fhello"`) ||
		strings.Contains(page, `name="stamp"`) || !strings.Contains(page, "No comments yet") {
		t.Fatalf("anonymous page: no sign-in link, or a form:\n%s", page)
	}
	id := ada.posted(t, "hello", "My *first* comment")
	_, mine := ada.get(t, "/posts/hello")
	if !strings.Contains(mine, `id="comment-`+strconv.FormatInt(id, 10)+`"`) || !strings.Contains(mine, "Waiting for approval") ||
		!strings.Contains(mine, "My <em>first</em> comment") {
		t.Fatalf("the writer does not see their held comment:\n%s", mine)
	}
	_, page = anon.get(t, "/posts/hello")
	if strings.Contains(page, "first") {
		t.Fatal("a held comment is on the anonymous page")
	}
	if _, _, err := s.store.SetStatus(context.Background(), id, comments.Approved); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "the approved comment on the cached anonymous page", func() bool {
		_, page = anon.get(t, "/posts/hello")
		return strings.Contains(page, "My <em>first</em> comment") && strings.Contains(page, "1 comment")
	})
	_, list := anon.get(t, "/posts/")
	if !strings.Contains(list, `href="/posts/hello#comments"`) || !strings.Contains(list, "1 comment") {
		t.Fatalf("the post list does not show the count:\n%s", list)
	}

	second := ada.posted(t, "hello", "Second thought, *shown at once*")
	reply := ada.posted(t, "hello", "A reply", "parent", strconv.FormatInt(id, 10))
	testkit.WaitFor(t, 5*time.Second, "both on the anonymous page", func() bool {
		_, page = anon.get(t, "/posts/hello")
		return strings.Contains(page, "shown at once") && strings.Contains(page, "3 comments")
	})
	first := strings.Index(page, "comment-"+strconv.FormatInt(id, 10))
	nested := strings.Index(page, `class="comment-replies"`)
	r := strings.Index(page, "comment-"+strconv.FormatInt(reply, 10))
	sec := strings.Index(page, "comment-"+strconv.FormatInt(second, 10))
	if !(first < nested && nested < r && r < sec) {
		t.Fatalf("reply not nested under its parent before the next comment (%d %d %d %d)", first, nested, r, sec)
	}
	// The display name is remembered.
	u, _ := s.auth.UserByID(context.Background(), ada.user.ID)
	if u.DisplayName != "Ada" {
		t.Fatalf("display name %q", u.DisplayName)
	}
	ada.user.DisplayName = "Ada L."
	ada.posted(t, "hello", "New name")
	if u, _ = s.auth.UserByID(context.Background(), ada.user.ID); u.DisplayName != "Ada L." {
		t.Fatalf("display name not updated: %q", u.DisplayName)
	}
	// ?reply= sets the form to answer; a reply to a reply is refused.
	_, withReply := ada.get(t, "/posts/hello?reply="+strconv.FormatInt(id, 10))
	if !strings.Contains(withReply, `name="parent" value="`+strconv.FormatInt(id, 10)+`"`) {
		t.Fatal("?reply does not set the parent")
	}
	resp, body := ada.comment(t, "hello", "Deeper", "parent", strconv.FormatInt(reply, 10))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not there any more") || !textKept(body, "Deeper") {
		t.Fatalf("reply to a reply: %d\n%s", resp.StatusCode, body)
	}
}

// TestCommentWithJavaScript: comments.js's request (Accept JSON) gets the
// rendered comment and a new stamp; a refusal gets the reason.
func TestCommentWithJavaScript(t *testing.T) {
	s := newSite(t)
	ada := s.reader(t, "ada@example.org", "Ada <b>", false)
	form := url.Values{"name": {"Ada <b>"}, "body": {"Hi **there**"}, "stamp": {ada.stamp(t, "/posts/hello")}}
	s.clock.add(4 * time.Second)
	resp, body := ada.send(t, "/posts/hello/comments", form, true)
	var got struct {
		ID, Anchor, Fragment, Stamp, Error string
		Held                               bool
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("%d %s %v", resp.StatusCode, body, err)
	}
	if !got.Held || got.Stamp == "" || got.Anchor != "comment-"+got.ID ||
		!strings.Contains(got.Fragment, `<li id="comment-`+got.ID+`"`) || !strings.Contains(got.Fragment, "Hi <strong>there</strong>") ||
		!strings.Contains(got.Fragment, "Ada &lt;b&gt;") || !strings.Contains(got.Fragment, "Waiting for approval") ||
		!strings.Contains(got.Fragment, "/comments/"+got.ID+"/edit") {
		t.Fatalf("answer %+v", got)
	}
	form.Set("stamp", got.Stamp)
	resp, body = ada.send(t, "/posts/hello/comments", form, true)
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(got.Error, "too quickly") || got.Stamp == "" {
		t.Fatalf("too quick by JSON: %d %s", resp.StatusCode, body)
	}
}

// TestSpamRulesRefuseWithReasonAndKeepText: each rule refuses with its
// status and a sentence saying why, and the page sent back holds the text
// as typed.
func TestSpamRulesRefuseWithReasonAndKeepText(t *testing.T) {
	s := newSite(t, func(s *site) { s.comments.Limits.PerReader = 3; s.comments.Limits.PerIP = 5 })
	ada := s.reader(t, "ada@example.org", "Ada", false)
	send := func(text string, wait time.Duration, set ...string) (*http.Response, string) {
		form := url.Values{"name": {"Ada"}, "body": {text}, "stamp": {ada.stamp(t, "/posts/hello")}}
		for i := 0; i+1 < len(set); i += 2 {
			form.Set(set[i], set[i+1])
		}
		s.clock.add(wait)
		return ada.send(t, "/posts/hello/comments", form, false)
	}
	ok := 5 * time.Second
	cases := []struct {
		name string
		text string
		wait time.Duration
		set  []string
		code int
		msg  string
	}{
		{"honeypot", "I am a robot <3", ok, []string{"website", "http://spam.example"}, 400, "leave this field empty"},
		{"too quick", "Fast & furious", time.Second, nil, 429, "too quickly after the page opened"},
		{"forged stamp", "Forged 'stamp'", ok, []string{"stamp", "1.abc"}, 400, "too old or was damaged"},
		{"expired stamp", "Slow \"reader\"", 25 * time.Hour, nil, 400, "too old or was damaged"},
		{"empty", "   ", ok, nil, 400, "Your comment is empty"},
		{"no name", "Who am I?", ok, []string{"name", "  "}, 400, "Give the name"},
		{"too long", strings.Repeat("é", 5001), ok, nil, 400, "5001 characters long; the limit is 5000"},
		{"links", "[a](https://a.example) [b](https://b.example) https://c.example <https://d.example>", ok, nil, 400, "has 4 links; at most 3"},
		{"bad parent", "Reply to nothing", ok, []string{"parent", "999999"}, 400, "not there any more"},
	}
	for _, c := range cases {
		resp, body := send(c.text, c.wait, c.set...)
		if resp.StatusCode != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s: %d, want %d with %q\n%s", c.name, resp.StatusCode, c.code, c.msg, body)
		}
		if strings.TrimSpace(c.text) != "" && !textKept(body, c.text) {
			t.Errorf("%s: the text typed is not in the form sent back", c.name)
		}
	}
	if _, n, _ := s.store.Queue(context.Background(), comments.QueueQuery{}); n != 0 {
		t.Fatalf("%d refused comments stored", n)
	}
	// Duplicate: the same text on the same post within a day.
	if resp, _ := send("Once is enough", ok); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	resp, body := send("Once is enough", ok)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "already posted this same comment") || !textKept(body, "Once is enough") {
		t.Fatalf("duplicate: %d\n%s", resp.StatusCode, body)
	}
	// Per reader: 3 in the window (one taken above).
	for i := range 2 {
		if resp, _ := send("Note "+strconv.Itoa(i), ok); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("comment %d within the limit: %d", i, resp.StatusCode)
		}
	}
	resp, body = send("One too many", ok)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "faster than this site allows") ||
		resp.Header.Get("Retry-After") == "" || !textKept(body, "One too many") {
		t.Fatalf("per reader: %d %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// Per address: another reader from the same address has 5 - 4 left.
	bob := s.reader(t, "bob@example.org", "Bob", false)
	if id := bob.posted(t, "hello", "Bob's one"); id == 0 {
		t.Fatal("no id")
	}
	resp, body = bob.comment(t, "hello", "Bob's two")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "faster than this site allows") {
		t.Fatalf("per address: %d\n%s", resp.StatusCode, body)
	}
}

// TestBannedAndClosed: a banned reader and a closed post (its switch, or
// its age past close_after_days) refuse comments with a reason; pages say
// comments are closed.
func TestBannedAndClosed(t *testing.T) {
	s := newSite(t, func(s *site) { s.comments.CloseAfter = 30 * 24 * time.Hour })
	ctx := context.Background()
	ada, bob, anon := s.reader(t, "ada@example.org", "Ada", false), s.reader(t, "bob@example.org", "Bob", false), s.anonymous()
	if err := s.store.Ban(ctx, ada.user.ID, 0, "test"); err != nil {
		t.Fatal(err)
	}
	_, page := ada.get(t, "/posts/hello")
	if !strings.Contains(page, "You can no longer comment on this site") || strings.Contains(page, `name="stamp"`) {
		t.Fatal("a banned reader is offered the form")
	}
	form := url.Values{"name": {"Ada"}, "body": {"Let me in"}, "stamp": {bob.stamp(t, "/posts/hello")}}
	s.clock.add(5 * time.Second)
	resp, body := ada.send(t, "/posts/hello/comments", form, false)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "blocked your account from commenting") || !textKept(body, "Let me in") {
		t.Fatalf("banned: %d\n%s", resp.StatusCode, body)
	}

	stamp := bob.stamp(t, "/posts/hello")
	if err := s.store.SetClosed(ctx, s.post.ID, true); err != nil {
		t.Fatal(err)
	}
	s.clock.add(5 * time.Second)
	resp, body = bob.send(t, "/posts/hello/comments", url.Values{"name": {"Bob"}, "body": {"Too late"}, "stamp": {stamp}}, false)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Comments on this post are closed") || !textKept(body, "Too late") {
		t.Fatalf("closed: %d\n%s", resp.StatusCode, body)
	}
	testkit.WaitFor(t, 5*time.Second, "the anonymous page to say closed", func() bool {
		_, page = anon.get(t, "/posts/hello")
		return strings.Contains(page, "Comments are closed") && !strings.Contains(page, "Sign in to comment")
	})
	if err := s.store.SetClosed(ctx, s.post.ID, false); err != nil {
		t.Fatal(err)
	}
	bob.posted(t, "hello", "Open again")

	old := s.addPost(t, "old", time.Now().Add(-31*24*time.Hour))
	_, page = bob.get(t, old.Path())
	if !strings.Contains(page, "Comments are closed") {
		t.Fatal("a post older than close_after_days offers the form")
	}
	resp, _ = bob.send(t, "/posts/old/comments", url.Values{"name": {"Bob"}, "body": {"Old news"}, "stamp": {stamp}}, false)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("old post: %d", resp.StatusCode)
	}
	if resp, _ := bob.send(t, "/posts/no-such/comments", url.Values{"body": {"x"}}, false); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("no such post: %d", resp.StatusCode)
	}
	if resp, _ := anon.send(t, "/posts/hello/comments", url.Values{"body": {"x"}}, false); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous post: %d", resp.StatusCode)
	}
}

// TestModerationPolicies: all, first and none hold what they say; an
// admin's comments are never held.
func TestModerationPolicies(t *testing.T) {
	for _, c := range []struct {
		policy      string
		first, next comments.Status
	}{
		{comments.ModerateAll, comments.Held, comments.Held},
		{comments.ModerateFirst, comments.Held, comments.Approved},
		{comments.ModerateNone, comments.Approved, comments.Approved},
	} {
		t.Run(c.policy, func(t *testing.T) {
			s := newSite(t, func(s *site) { s.comments.Moderation = c.policy })
			ctx := context.Background()
			ada, owner := s.reader(t, "ada@example.org", "Ada", false), s.reader(t, "owner@example.org", "Owner", true)
			first := ada.posted(t, "hello", "one")
			if got, _ := s.store.Get(ctx, first); got.Status != c.first {
				t.Fatalf("first comment %s, want %s", got.Status, c.first)
			}
			if _, _, err := s.store.SetStatus(ctx, first, comments.Approved); err != nil {
				t.Fatal(err)
			}
			next := ada.posted(t, "hello", "two")
			if got, _ := s.store.Get(ctx, next); got.Status != c.next {
				t.Fatalf("next comment %s, want %s", got.Status, c.next)
			}
			mine := owner.posted(t, "hello", "the owner's")
			if got, _ := s.store.Get(ctx, mine); got.Status != comments.Approved {
				t.Fatalf("the admin's comment %s", got.Status)
			}
		})
	}
}

// TestEditAndDeleteWindow: the writer may edit or delete for 15 minutes;
// no one else, and not after.
func TestEditAndDeleteWindow(t *testing.T) {
	s := newSite(t, func(s *site) { s.comments.Moderation = comments.ModerateNone })
	ctx := context.Background()
	ada, bob := s.reader(t, "ada@example.org", "Ada", false), s.reader(t, "bob@example.org", "Bob", false)
	id := ada.posted(t, "hello", "Typo hree")
	path := "/comments/" + strconv.FormatInt(id, 10)
	_, page := ada.get(t, "/posts/hello")
	if !strings.Contains(page, `action="`+path+`/edit"`) || !strings.Contains(page, `action="`+path+`/delete"`) {
		t.Fatal("the writer is not offered edit and delete")
	}
	if _, page = bob.get(t, "/posts/hello"); strings.Contains(page, path+"/edit") {
		t.Fatal("another reader is offered edit")
	}
	resp, body := bob.send(t, path+"/edit", url.Values{"body": {"Hijacked"}}, false)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Only the person who wrote") {
		t.Fatalf("edit by another: %d\n%s", resp.StatusCode, body)
	}
	resp, body = ada.send(t, path+"/edit", url.Values{"body": {strings.Repeat("x", 6000)}}, false)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "the limit is 5000") || !textKept(body, strings.Repeat("x", 6000)) {
		t.Fatalf("too long an edit: %d", resp.StatusCode)
	}
	resp, _ = ada.send(t, path+"/edit", url.Values{"body": {"Typo **here**"}}, false)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "#comment-"+strconv.FormatInt(id, 10)) {
		t.Fatalf("edit: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c, _ := s.store.Get(ctx, id); c.HTML != "<p>Typo <strong>here</strong></p>" || c.EditedAt.IsZero() {
		t.Fatalf("after edit: %+v", c)
	}
	s.clock.add(16 * time.Minute)
	resp, body = ada.send(t, path+"/edit", url.Values{"body": {"Later"}}, false)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "for 15 minutes after it is posted") || !textKept(body, "Typo here") && !strings.Contains(body, "Typo") {
		t.Fatalf("late edit: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := ada.send(t, path+"/delete", nil, false); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("late delete: %d", resp.StatusCode)
	}
	if _, page = ada.get(t, "/posts/hello"); strings.Contains(page, path+"/edit") {
		t.Fatal("edit offered after the window")
	}
	other := ada.posted(t, "hello", "Regret")
	opath := "/comments/" + strconv.FormatInt(other, 10)
	if resp, _ := bob.send(t, opath+"/delete", nil, false); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("delete by another: %d", resp.StatusCode)
	}
	if resp, _ := ada.send(t, opath+"/delete", nil, false); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, err := s.store.Get(ctx, other); err == nil {
		t.Fatal("deleted comment still stored")
	}
	if resp, _ := ada.send(t, "/comments/abc/delete", nil, false); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bad id: %d", resp.StatusCode)
	}
}

// TestLiveEvents: a comment shown at once is published with its sanitized
// HTML; a held one without its text; approval through the moderation side
// publishes it again, shown.
func TestLiveEvents(t *testing.T) {
	b := testkit.NATS(t)
	s := newSite(t, func(s *site) { s.comments.NC = b.Conn })
	ch := subscribe(t, b.Conn, "hello")
	ada := s.reader(t, "ada@example.org", "Ada", false)
	id := ada.posted(t, "hello", "Held <script>x()</script> text")
	next := func() events.Comment {
		t.Helper()
		select {
		case m := <-ch:
			var e events.Comment
			if err := json.Unmarshal(m.Data, &e); err != nil {
				t.Fatal(err)
			}
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		return events.Comment{}
	}
	e := next()
	if !e.Held || e.ID != strconv.FormatInt(id, 10) || e.Post != "hello" || e.Body != "" || e.Author != "" {
		t.Fatalf("held event %+v", e)
	}
	c, _, err := s.store.SetStatus(context.Background(), id, comments.Approved)
	if err != nil {
		t.Fatal(err)
	}
	if err := comments.Announce(b.Conn, c); err != nil {
		t.Fatal(err)
	}
	e = next()
	if e.Held || e.Author != "Ada" || e.Body != "<p>Held &lt;script&gt;x()&lt;/script&gt; text</p>" {
		t.Fatalf("approved event %+v", e)
	}
	reply := ada.posted(t, "hello", "Shown reply", "parent", strconv.FormatInt(id, 10))
	e = next()
	if e.Held || e.ID != strconv.FormatInt(reply, 10) || e.Parent != strconv.FormatInt(id, 10) || e.Body != "<p>Shown reply</p>" {
		t.Fatalf("reply event %+v", e)
	}
}

// TestAnonymousPageIsTheSameForEveryone: the cached anonymous page holds no
// one's held comment, form, stamp or name, whoever asked first.
func TestAnonymousPageIsTheSameForEveryone(t *testing.T) {
	s := newSite(t)
	ada := s.reader(t, "ada@example.org", "Ada Secret", false)
	ada.posted(t, "hello", "held words")
	_, a := s.anonymous().get(t, "/posts/hello")
	_, b := s.anonymous().get(t, "/posts/hello")
	if a != b {
		t.Fatal("two anonymous readers got different pages")
	}
	for _, leak := range []string{"held words", "Ada Secret", `name="stamp"`, "Waiting for approval", "/edit"} {
		if strings.Contains(a, leak) {
			t.Errorf("anonymous page holds %q", leak)
		}
	}
}
