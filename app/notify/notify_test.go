package notify_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"site/app/jobs"
	"site/app/notify"
	"site/internal/testkit"
)

// mailbox is testkit's SMTP server with the sender that delivers to it.
type mailbox struct{ *testkit.Mailbox }

func (m mailbox) all() []testkit.Mail { return m.All() }

// MustSMTP starts a real SMTP server for a test (testkit.SMTP).
func MustSMTP(tb testing.TB) mailbox { return mailbox{testkit.SMTP(tb)} }

func (m mailbox) sender() *notify.SMTP {
	return &notify.SMTP{Host: m.Host, Port: m.Port, TLS: "none", From: "site@example.com", Timeout: 5 * time.Second}
}

func mustJob(j jobs.Job, err error) jobs.Job {
	if err != nil {
		panic(err)
	}
	return j
}

func TestEmailIsSentOnce(t *testing.T) {
	t.Parallel()
	box := MustSMTP(t)
	db := testkit.DataDB(t)
	n := &notify.Notifier{Mail: box.sender(), DB: db.Write}
	j := mustJob(jobs.NewNotifyJob(jobs.NotifyJob{Email: "reader@example.org", Subject: "Your sign-in code",
		Text: "Your code is 123456."}, "otp-1"))
	for range 2 { // the second is a redelivery
		if err := n.Handle(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
	msgs := box.all()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "site@example.com" || len(m.To) != 1 || m.To[0] != "reader@example.org" ||
		!strings.Contains(m.Data, "Subject: Your sign-in code") || !strings.Contains(m.Data, "Your code is 123456.") {
		t.Errorf("message: from %q to %v\n%s", m.From, m.To, m.Data)
	}
}

func TestEmailServerDownRetries(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	db := testkit.DataDB(t)
	n := &notify.Notifier{Mail: &notify.SMTP{Host: "127.0.0.1", Port: port, TLS: "none", From: "site@example.com", Timeout: 2 * time.Second}, DB: db.Write}
	j := mustJob(jobs.NewNotifyJob(jobs.NotifyJob{Email: "reader@example.org", Subject: "s", Text: "t"}, ""))
	err = n.Handle(context.Background(), j)
	if err == nil || isPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	var done int
	db.Read.QueryRow("SELECT count(*) FROM processed_jobs").Scan(&done)
	if done != 0 {
		t.Fatal("a message that was not sent is recorded as done")
	}
}

func isPermanent(err error) bool { return jobs.IsPermanent(err) }

func TestBadRecipientIsPermanent(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	n := &notify.Notifier{Mail: &notify.Log{}, SMS: &notify.Log{}, DB: db.Write}
	for _, p := range []jobs.NotifyJob{{Text: "no one"}, {Email: "not an address", Text: "x"}, {Phone: "12345", Text: "x"}} {
		j := mustJob(jobs.NewNotifyJob(p, ""))
		if err := n.Handle(context.Background(), j); !isPermanent(err) {
			t.Errorf("%+v: err %v, want a permanent error", p, err)
		}
	}
}

func TestSMSOverHTTP(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []notify.SMS
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if fail {
			fail = false
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var s notify.SMS
		json.NewDecoder(r.Body).Decode(&s)
		got = append(got, s)
	}))
	defer srv.Close()
	db := testkit.DataDB(t)
	n := &notify.Notifier{SMS: &notify.HTTPSMS{URL: srv.URL, Token: "tok"}, DB: db.Write}
	j := mustJob(jobs.NewNotifyJob(jobs.NotifyJob{Phone: "+15551234567", Text: "code 42"}, ""))
	if err := n.Handle(context.Background(), j); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("first send: err %v, want the provider's 503", err)
	}
	if err := n.Handle(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if err := n.Handle(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].To != "+15551234567" || got[0].Text != "code 42" {
		t.Fatalf("provider got %+v, want one message", got)
	}
}
