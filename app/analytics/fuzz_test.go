package analytics_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
	"site/internal/testkit"
)

// FuzzRecorderPayload feeds arbitrary payloads to the recorder as
// jobs.pageview jobs: whatever arrives, it stores at most the views the
// payload holds and records the job as done so it is not retried, except a
// batch in a format newer than pv1, which fails for the dead letters.
func FuzzRecorderPayload(f *testing.F) {
	for _, seed := range []string{
		"pv1\n1740823200000\t/a\texample.org\t\tMozilla/5.0 Firefox/128.0\t\t192.0.2.1\t\t\n\t^0\t^0\thttps://x.example/\t^0\tfeed\t192.0.2.2\t1.2.3.4\tdg\n",
		"pv1\n", "pv2\n1\t/\n", "pv1\n\t\\^x\t\t\t\t\t\t\t\n", "pv1\n-1\t/\t\t\t\t\t\t\t\n",
		"pv1\n1\t/\t\t\t\t\t\t\t\n1\t^0\t", "pv1\n1\t^5\t\t\t\t\t\t\t\n",
		`{"views":[{"path":"/a"}]}`, ``, `pv`, "pv1",
	} {
		f.Add([]byte(seed))
	}
	db := testkit.DataDB(f)
	r := &analytics.Recorder{DB: db.Write, Site: "fuzz", Now: func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, payload []byte) {
		id := fmt.Sprintf("pv-fuzz-%d", n.Add(1))
		before := scalar(t, db.Read, "SELECT count(*) FROM page_views")
		err := r.Handle(context.Background(), jobs.Job{ID: id, Subject: jobs.SubjectPageView, Data: payload})
		if err != nil {
			// Only a batch format newer than pv1 fails, at once, and stores nothing.
			if !jobs.IsPermanent(err) || !strings.HasPrefix(string(payload), "pv") {
				t.Fatalf("payload %q: %v", payload, err)
			}
			if done := scalar(t, db.Read, "SELECT count(*) FROM processed_jobs WHERE id = ?", id); done != 0 {
				t.Fatalf("payload %q failed but was recorded as done", payload)
			}
			return
		}
		if done := scalar(t, db.Read, "SELECT count(*) FROM processed_jobs WHERE id = ?", id); done != 1 {
			t.Fatalf("payload %q: job not recorded as done", payload)
		}
		if added := scalar(t, db.Read, "SELECT count(*) FROM page_views") - before; added > max(1, len(payload)/8) {
			t.Fatalf("payload of %d bytes stored %d views", len(payload), added)
		}
	})
}
