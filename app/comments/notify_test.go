package comments_test

import (
	"context"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"site/app/comments"
	"site/app/jobs"
	"site/app/notify"
	"site/internal/testkit"
)

// mailRig is the worker's path of a comment mail for real: the Notifier
// hands jobs.notify jobs to the worker's notify handler, which delivers
// them over SMTP to a real server.
type mailRig struct {
	box      *testkit.Mailbox
	notifier *comments.Notifier
	signer   *comments.Signer
	now      time.Time
	mu       sync.Mutex
	jobs     []jobs.Job
}

func newMailRig(t *testing.T, f *fixture) *mailRig {
	t.Helper()
	rig := &mailRig{box: testkit.SMTP(t), now: time.Unix(1_800_000_000, 0)}
	handler := &notify.Notifier{DB: f.db.Write, Mail: &notify.SMTP{Host: rig.box.Host, Port: rig.box.Port, TLS: "none",
		From: "Site <site@example.org>"}}
	rig.signer = &comments.Signer{Key: []byte("0123456789abcdef0123456789abcdef"), Now: rig.clock}
	rig.notifier = &comments.Notifier{DB: f.db, Signer: rig.signer, Site: "Test", SiteURL: "https://site.example",
		Admins: []string{"owner@example.org"}, Now: rig.clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Send: func(ctx context.Context, n jobs.NotifyJob, dedupe string) error {
			j, err := jobs.NewNotifyJob(n, dedupe)
			if err != nil {
				return err
			}
			rig.mu.Lock()
			rig.jobs = append(rig.jobs, j)
			rig.mu.Unlock()
			return handler.Handle(ctx, j)
		}}
	return rig
}

func (r *mailRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *mailRig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

func (r *mailRig) flush(t *testing.T) {
	t.Helper()
	if err := r.notifier.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// mail is one delivered message, decoded.
type mail struct {
	to, subject, text string
}

func (r *mailRig) mails(t *testing.T) []mail {
	t.Helper()
	var out []mail
	for _, m := range r.box.All() {
		head, body, _ := strings.Cut(strings.ReplaceAll(m.Data, "\r\n", "\n"), "\n\n")
		var subject string
		for _, l := range strings.Split(head, "\n") {
			if v, ok := strings.CutPrefix(l, "Subject: "); ok {
				subject = v
			}
		}
		text, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mail{to: strings.Join(m.To, ","), subject: subject, text: string(text)})
	}
	return out
}

var linkRE = regexp.MustCompile(`https://site\.example/comments/(moderate|unsubscribe)\?\S+`)

// links are the signed links of a mail's text, checked by the signer.
func (r *mailRig) links(t *testing.T, text string) []comments.Link {
	t.Helper()
	var out []comments.Link
	for _, raw := range linkRE.FindAllString(text, -1) {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		l, err := r.signer.Verify(u.Query())
		if err != nil {
			t.Errorf("link %s: %v", raw, err)
		}
		out = append(out, l)
	}
	return out
}

// TestAdminsMailDigest: the first comment after a quiet period is mailed
// at once with its signed links; the ones within the next ten minutes wait
// and go together in one mail when the period ends, also from a new
// Notifier (a restarted worker); an admin's own comment and imported ones
// are not mailed.
func TestAdminsMailDigest(t *testing.T) {
	f := newFixture(t)
	rig := newMailRig(t, f)
	admin := f.addUser(t, "admin@example.org", "Admin")
	if _, err := f.db.Write.Exec(`UPDATE users SET role = 'admin' WHERE id = ?`, admin); err != nil {
		t.Fatal(err)
	}
	first := f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "The **first** one.", Status: comments.Held})
	rig.flush(t)
	got := rig.mails(t)
	if len(got) != 1 || got[0].to != "owner@example.org" || got[0].subject != `[Test] New comment on "Post hello" by Alice (held)` {
		t.Fatalf("first mail: %+v", got)
	}
	text := got[0].text
	for _, want := range []string{"Alice (alice@example.com) commented on \"Post hello\"", "> The first one.",
		"https://site.example/posts/hello#comment-", "It is held", "Approve: ", "Reject: ", "Delete: ", "Ban the reader: ",
		"https://site.example/admin/comments"} {
		if !strings.Contains(text, want) {
			t.Errorf("first mail lacks %q:\n%s", want, text)
		}
	}
	links := rig.links(t, text)
	if len(links) != 4 || links[0].Action != comments.ActionApprove || links[0].ID != first.ID || links[3].Action != comments.ActionBan ||
		!links[0].Expires.Equal(rig.clock().Add(comments.ModerationLinkTTL)) {
		t.Errorf("links %+v", links)
	}

	rig.advance(time.Minute)
	f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "Second, approved.", Status: comments.Approved})
	f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "Third.", Status: comments.Held})
	f.add(t, comments.Comment{UserID: admin, Author: "Admin", Body: "The admin's own.", Status: comments.Approved})
	f.add(t, comments.Comment{Author: "Imported", Body: "From Disqus.", HTML: "<p>From Disqus.</p>", Status: comments.Approved,
		Source: comments.SourceDisqus, SourceID: "d1"})
	rig.flush(t)
	rig.advance(8 * time.Minute)
	rig.flush(t)
	if n := len(rig.mails(t)); n != 1 {
		t.Fatalf("%d mails within the ten minutes after the first; want it alone", n)
	}

	// Past the period, a new worker sends the digest.
	rig.advance(90 * time.Second)
	again := rig.notifier
	rig.notifier = &comments.Notifier{DB: again.DB, Signer: again.Signer, Site: again.Site, SiteURL: again.SiteURL,
		Admins: again.Admins, Now: again.Now, Send: again.Send, Logger: again.Logger}
	rig.flush(t)
	got = rig.mails(t)
	if len(got) != 2 {
		t.Fatalf("%d mails, want the first and one digest", len(got))
	}
	d := got[1]
	t.Logf("the digest, as delivered:\n%s\n%s", d.subject, d.text)
	if d.subject != "[Test] 2 new comments (1 held)" || !strings.Contains(d.text, "> Second, approved.") || !strings.Contains(d.text, "> Third.") ||
		strings.Contains(d.text, "admin's own") || strings.Contains(d.text, "From Disqus") {
		t.Errorf("digest %q:\n%s", d.subject, d.text)
	}
	// Approve only for the held one: 3 + 4 links.
	if n := len(rig.links(t, d.text)); n != 7 {
		t.Errorf("digest has %d links, want 7:\n%s", n, d.text)
	}
	rig.advance(time.Hour)
	rig.flush(t)
	if n := len(rig.mails(t)); n != 2 {
		t.Errorf("%d mails after an hour of nothing new", n)
	}
}

// TestReplyNotice: the reader a reply answers is mailed once the reply is
// first approved, with an unsubscribe link; not for a held reply, not
// twice, not when they did not ask, not to a phone number, not after
// unsubscribing.
func TestReplyNotice(t *testing.T) {
	f := newFixture(t)
	rig := newMailRig(t, f)
	rig.notifier.Admins = nil // the admins' mails are tested above
	phone := f.addUser(t, "+15551234567", "Phone")
	m := &comments.Moderator{Store: f.comments}
	parent := f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "Tell me of replies.", Status: comments.Approved, Notify: true})
	quiet := f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "Do not.", Status: comments.Approved})
	byPhone := f.add(t, comments.Comment{UserID: phone, Author: "Phone", Body: "By text.", Status: comments.Approved, Notify: true})
	reply := f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "A *reply*.", ParentID: parent.ID, Status: comments.Held})
	f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "To the quiet one.", ParentID: quiet.ID, Status: comments.Approved})
	f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "To the phone.", ParentID: byPhone.ID, Status: comments.Approved})
	f.add(t, comments.Comment{UserID: f.alice, Author: "Alice", Body: "Her own reply.", ParentID: parent.ID, Status: comments.Approved})
	rig.flush(t)
	if got := rig.mails(t); len(got) != 0 {
		t.Fatalf("mails before the reply is approved: %+v", got)
	}
	if _, err := m.Approve(t.Context(), reply.ID); err != nil {
		t.Fatal(err)
	}
	rig.flush(t)
	got := rig.mails(t)
	if len(got) != 1 || got[0].to != "alice@example.com" || got[0].subject != `[Test] Bob replied to your comment on "Post hello"` ||
		!strings.Contains(got[0].text, "> A reply.") || !strings.Contains(got[0].text, "https://site.example/posts/hello#comment-") {
		t.Fatalf("reply mails: %+v", got)
	}
	links := rig.links(t, got[0].text)
	if len(links) != 1 || links[0].Action != comments.ActionUnsubscribe || links[0].ID != f.alice {
		t.Fatalf("unsubscribe link: %+v", links)
	}
	// Rejected and approved again: no second mail.
	if _, err := m.Reject(t.Context(), reply.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Approve(t.Context(), reply.ID); err != nil {
		t.Fatal(err)
	}
	rig.flush(t)
	if n := len(rig.mails(t)); n != 1 {
		t.Errorf("%d mails after a second approval", n)
	}
	// Unsubscribed, no more.
	if n, err := f.comments.Unsubscribe(t.Context(), f.alice); err != nil || n != 1 {
		t.Fatalf("unsubscribe: %d, %v", n, err)
	}
	f.add(t, comments.Comment{UserID: f.bob, Author: "Bob", Body: "Another.", ParentID: parent.ID, Status: comments.Approved})
	rig.flush(t)
	if n := len(rig.mails(t)); n != 1 {
		t.Errorf("%d mails after unsubscribing", n)
	}
}
