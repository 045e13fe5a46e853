package admin_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"site/app/jobs"
	"site/internal/testkit"
)

// jobsPanel is a panel whose NATS is a real JetStream server with the
// work-queue streams; duplicates, when set, shortens JOBS's duplicate
// window so that a test can retry a dead job without waiting ten minutes.
func jobsPanel(t *testing.T, duplicates time.Duration) (*panel, *http.Client, *testkit.Broker) {
	t.Helper()
	p := newPanel(t)
	b := testkit.NATS(t)
	if err := jobs.EnsureStreams(t.Context(), b.JetStream); err != nil {
		t.Fatal(err)
	}
	if duplicates > 0 {
		st, err := b.JetStream.Stream(t.Context(), jobs.StreamJobs)
		if err != nil {
			t.Fatal(err)
		}
		cfg := st.CachedInfo().Config
		cfg.Duplicates = duplicates
		if _, err := b.JetStream.UpdateStream(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	p.admin.NC, p.admin.JS = b.Conn, b.JetStream
	if _, err := p.auth.GrantAdmin(t.Context(), "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	return p, p.client(t, "owner@example.org"), b
}

// get returns the status and body of a GET.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post sends an empty form and returns the status and body.
func post(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Post(url, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// publishJob puts a job on JOBS with its id, as the site's publisher does.
func publishJob(t *testing.T, js jetstream.JetStream, subject, id, data string) {
	t.Helper()
	msg := &nats.Msg{Subject: subject, Data: []byte(data), Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	if _, err := js.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
}

// runConsumer runs a real worker consumer with h for kind image until the
// test ends.
func runConsumer(t *testing.T, js jetstream.JetStream, h jobs.Handler) {
	t.Helper()
	c := jobs.NewConsumer(js)
	c.Handlers["image"] = h
	c.Logger = quietLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

var deadSeqRE = regexp.MustCompile(`action="/admin/jobs/dead/(\d+)/retry"`)

// deadSeqs are the dead letters the jobs page offers to retry.
func deadSeqs(body string) []string {
	var out []string
	for _, m := range deadSeqRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestJobsDeadLetterRetry: a job that fails for good is buried by a real
// consumer and listed with its kind, id and error; retry within JOBS's
// duplicate window is refused with the time it will work; once the window
// passed, retry puts the job back, a handler gets it under its id, and the
// dead letter is gone. Both actions are in the audit log.
func TestJobsDeadLetterRetry(t *testing.T) {
	p, owner, b := jobsPanel(t, time.Second)
	var mu sync.Mutex
	fail := true
	var got []string
	runConsumer(t, b.JetStream, func(_ context.Context, j jobs.Job) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return jobs.Permanent(errors.New("not an image: text/plain"))
		}
		got = append(got, j.ID+" "+string(j.Data))
		return nil
	})
	publishJob(t, b.JetStream, jobs.SubjectImage, "img-42", `{"key":"a.txt"}`)

	var body string
	testkit.WaitFor(t, 10*time.Second, "the job in the dead letters", func() bool {
		_, body = get(t, owner, p.URL+"/admin/jobs")
		return len(deadSeqs(body)) == 1
	})
	for _, want := range []string{"img-42", "image", "not an image: text/plain", "1 dead letters"} {
		if !strings.Contains(body, want) {
			t.Errorf("jobs page lacks %q", want)
		}
	}
	seq := deadSeqs(body)[0]

	mu.Lock()
	fail = false
	mu.Unlock()
	// The stream drops a publish of img-42 until its (shortened) duplicate
	// window has passed; the page says so and keeps the dead letter.
	var code int
	testkit.WaitFor(t, 30*time.Second, "a retry the stream takes", func() bool {
		code, body = post(t, owner, p.URL+"/admin/jobs/dead/"+seq+"/retry")
		if code == http.StatusConflict && !strings.Contains(body, "Retry after") {
			t.Fatalf("refused retry without a reason:\n%s", body)
		}
		return code != http.StatusConflict
	})
	if code != 200 || !strings.Contains(body, "img-42 is back in the queue") {
		t.Fatalf("retry: %d\n%s", code, body)
	}
	testkit.WaitFor(t, 10*time.Second, "the handler to get the retried job", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1
	})
	if got[0] != `img-42 {"key":"a.txt"}` {
		t.Errorf("handler got %q", got[0])
	}
	if _, body = get(t, owner, p.URL+"/admin/jobs"); len(deadSeqs(body)) != 0 || !strings.Contains(body, "No dead letters") {
		t.Errorf("dead letter still listed after retry:\n%s", body)
	}
	if code, body = post(t, owner, p.URL+"/admin/jobs/dead/"+seq+"/retry"); code != 404 || !strings.Contains(body, "no longer there") {
		t.Errorf("second retry: %d\n%s", code, body)
	}
	if _, body = get(t, owner, p.URL+"/admin/audit"); !strings.Contains(body, "job.retry") || !strings.Contains(body, "image/img-42") {
		t.Errorf("retry not audited:\n%s", body)
	}
}

// TestJobsDeadLetterDiscard: discard deletes the dead letter (audited);
// retry within the duplicate window (ten minutes, as the site runs) does
// nothing and says when it will work; the pending count shows a job no
// worker took.
func TestJobsDeadLetterDiscard(t *testing.T) {
	p, owner, b := jobsPanel(t, 0)
	runConsumer(t, b.JetStream, func(context.Context, jobs.Job) error {
		return jobs.Permanent(errors.New("decode: unexpected EOF"))
	})
	publishJob(t, b.JetStream, jobs.SubjectImage, "img-7", `{}`)
	var body string
	testkit.WaitFor(t, 10*time.Second, "the job in the dead letters", func() bool {
		_, body = get(t, owner, p.URL+"/admin/jobs")
		return len(deadSeqs(body)) == 1
	})
	seq := deadSeqs(body)[0]
	code, body := post(t, owner, p.URL+"/admin/jobs/dead/"+seq+"/retry")
	if code != http.StatusConflict || !strings.Contains(body, "Retry after") || len(deadSeqs(body)) != 1 {
		t.Errorf("retry within the duplicate window: %d\n%s", code, body)
	}
	code, body = post(t, owner, p.URL+"/admin/jobs/dead/"+seq+"/discard")
	if code != 200 || !strings.Contains(body, "img-7 was discarded") || len(deadSeqs(body)) != 0 {
		t.Errorf("discard: %d\n%s", code, body)
	}
	if _, body = get(t, owner, p.URL+"/admin/audit"); !strings.Contains(body, "job.discard") || !strings.Contains(body, "decode: unexpected EOF") {
		t.Errorf("discard not audited:\n%s", body)
	}

	// A job of a kind no worker here handles waits in the queue.
	publishJob(t, b.JetStream, jobs.SubjectPageView, "pv-1", `{}`)
	testkit.WaitFor(t, 10*time.Second, "the pending page view", func() bool {
		_, body = get(t, owner, p.URL+"/admin/jobs")
		return strings.Contains(body, "<td>pageview</td><td>1</td>")
	})
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
