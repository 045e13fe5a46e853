package analytics_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
	"site/internal/testkit"
)

// TestBatchPayloadRoundTrip: every field survives the pv1 format, including
// tabs, newlines, backslashes and a leading ^ in any of them, values that
// repeat an earlier line's, and a view with no time.
func TestBatchPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 10, 30, 0, 123e6, time.UTC)
	odd := "a\tb\nc\\d^e"
	views := []analytics.PageView{
		{Path: "/", Host: "example.org", UserAgent: firefox, IP: "192.0.2.1", At: at},
		{Path: "/", Host: "example.org", UserAgent: firefox, IP: "192.0.2.2", At: at.Add(time.Millisecond), DNT: true},
		{Path: "^0", Host: "^", Referrer: odd, UserAgent: "^" + odd, UTMSource: odd, IP: odd, ForwardedFor: odd, GPC: true},
		{Path: "^0", Host: "example.org", Referrer: odd, UserAgent: "^" + odd, ForwardedFor: "1.2.3.4, 5.6.7.8", DNT: true, GPC: true, At: at},
		{Path: "/\\", UserAgent: ""},
	}
	j := analytics.NewBatchJob(views)
	if j.Count != len(views) || !strings.HasPrefix(string(j.Data), "pv1\n") {
		t.Fatalf("job counts %d, payload starts %q", j.Count, j.Data[:min(10, len(j.Data))])
	}
	if n := strings.Count(string(j.Data), firefox); n != 1 {
		t.Errorf("the repeated user agent is written %d times, want once", n)
	}
	got, err := analytics.DecodeBatch(j.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, views) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, views)
	}
}

// TestBatchPayloadOutOfFormat: a damaged pv1 payload is refused whole,
// never half read, and so is a payload in any other format.
func TestBatchPayloadOutOfFormat(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"pv1\n/\t\t\t\t\t\t\t\t\n",      // a path in the time column
		"pv1\n1\t/\t\t\t\t\t\t\t\t\t\n", // ten fields
		"pv1\n1\t/\t\t\t\t\t\t\t",       // no final newline
		"pv1\n1\t^0\t\t\t\t\t\t\t\n",    // refers to itself
		"pv1\n1\t^x\t\t\t\t\t\t\t\n",    // reference not a number
		"pv1\n1\t/\\q\t\t\t\t\t\t\t\n",  // unknown escape
		"pv1\n1\t/\\\t\t\t\t\t\t\t\n",   // escape at the end of a field
		"pv1\n1\t/a\\^\t\t\t\t\t\t\t\n", // \^ after the start
		"pv1\n1\t/\t\t\t\t\t\t\tx\n",    // unknown flag
		"pv1\nsoon\t/\t\t\t\t\t\t\t\n",  // time not a number
	} {
		if views, err := analytics.DecodeBatch([]byte(bad)); err == nil {
			t.Errorf("%q decoded to %+v, want an error", bad, views)
		}
	}
	if _, err := analytics.DecodeBatch([]byte("pv1\n" + strings.Repeat("\t\t\t\t\t\t\t\t\n", 1<<16+1))); err == nil {
		t.Error("a batch of 65,537 views decoded, want it refused")
	}
	if views, err := analytics.DecodeBatch([]byte("pv1\n" + strings.Repeat("1\t/\t\t\t\t\t\t\t\n", 1<<16))); err != nil || len(views) != 1<<16 {
		t.Errorf("a batch of 65,536 views: %d views, %v", len(views), err)
	}
	if views, err := analytics.DecodeBatch([]byte("pv1\n")); err != nil || len(views) != 0 {
		t.Errorf("an empty batch: %v, %v", views, err)
	}
	for _, other := range []string{`{"views":[{"path":"/a"}]}`, "", "pv1", "pv10\n", "PV1\n"} {
		if views, err := analytics.DecodeBatch([]byte(other)); err == nil {
			t.Errorf("%q decoded to %+v, want an error: only pv1 is read", other, views)
		}
	}
}

// BenchmarkBatchPayload is the encode and decode of a batch of 500 views
// as the web role and the worker see them, per view, in pv1 and, for
// comparison, in JSON (jsonView).
func BenchmarkBatchPayload(b *testing.B) {
	views := make([]analytics.PageView, 500)
	for i := range views {
		views[i] = analytics.PageView{Path: "/posts/" + string(rune('a'+i%20)), Host: "example.org",
			Referrer: "https://news.example/item?id=1", UserAgent: firefox, IP: "198.51.100.7",
			At: time.Now()}
	}
	asJSON := make([]jsonView, len(views))
	for i, v := range views {
		asJSON[i] = jsonView(v)
	}
	b.Run("pv1-encode", func(b *testing.B) {
		for b.Loop() {
			analytics.NewBatchJob(views)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(views)), "ns/view")
	})
	b.Run("json-encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(asJSON); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(views)), "ns/view")
	})
	data := analytics.NewBatchJob(views).Data
	b.Run("pv1-decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := analytics.DecodeBatch(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(views)), "ns/view")
	})
	jsonData, _ := json.Marshal(asJSON)
	b.Run("json-decode", func(b *testing.B) {
		for b.Loop() {
			var got []jsonView
			if err := json.Unmarshal(jsonData, &got); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(views)), "ns/view")
	})
}

// jsonView is a PageView with short JSON keys, the reference format of
// BenchmarkBatchPayload.
type jsonView struct {
	Path         string    `json:"path"`
	Host         string    `json:"host,omitempty"`
	Referrer     string    `json:"referrer,omitempty"`
	UserAgent    string    `json:"ua,omitempty"`
	UTMSource    string    `json:"utm,omitempty"`
	At           time.Time `json:"at"`
	IP           string    `json:"ip,omitempty"`
	ForwardedFor string    `json:"xff,omitempty"`
	DNT          bool      `json:"dnt,omitempty"`
	GPC          bool      `json:"gpc,omitempty"`
}

// FuzzBatchPayload: whatever the fields hold, a batch decodes to the views
// it was made of; the same view twice tests the references to earlier
// lines, and decoding arbitrary bytes never panics.
func FuzzBatchPayload(f *testing.F) {
	f.Add("/", "example.org", "https://r.example/", firefox, "feed", "192.0.2.1", "", int64(1740823200000), true, false)
	f.Add("^0", "^", "\\^", "a\tb\nc\\", "\\", "", "1.2.3.4, 5.6.7.8", int64(-1), false, true)
	f.Fuzz(func(t *testing.T, path, host, ref, ua, utm, ip, xff string, ms int64, dnt, gpc bool) {
		pv := analytics.PageView{Path: path, Host: host, Referrer: ref, UserAgent: ua, UTMSource: utm, IP: ip,
			ForwardedFor: xff, DNT: dnt, GPC: gpc}
		if ms != 0 {
			pv.At = time.UnixMilli(ms).UTC()
		}
		other := pv
		other.Path, other.DNT = path+"x", !dnt
		views := []analytics.PageView{pv, other, pv}
		got, err := analytics.DecodeBatch(analytics.NewBatchJob(views).Data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, views) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, views)
		}
		_, _ = analytics.DecodeBatch([]byte("pv1\n" + path + "\t" + ua + "\n"))
	})
}

// TestLaterFormatWaitsForTheDeadLetters: a batch in a format newer than
// pv1, as a later web role may send before this worker is upgraded, is not
// stored and not recorded as done; it alone fails, at once, and the jobs
// around it are stored.
func TestLaterFormatWaitsForTheDeadLetters(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	r := &analytics.Recorder{DB: db.Write}
	view := analytics.PageView{Path: "/", UserAgent: firefox, IP: "192.0.2.1"}
	a, b := analytics.NewBatchJob([]analytics.PageView{view}), analytics.NewBatchJob([]analytics.PageView{view, view})
	later := jobs.Job{ID: "pv-later", Subject: jobs.SubjectPageView, Data: []byte("pv12\nwhatever comes next\n")}
	err := r.HandleBatch(context.Background(), []jobs.Job{a, later, b})
	failed, ok := err.(jobs.JobErrors)
	if !ok || len(failed) != 1 || !jobs.IsPermanent(failed["pv-later"]) {
		t.Fatalf("HandleBatch = %v, want the later job alone failed for good", err)
	}
	if n := scalar(t, db.Read, "SELECT count(*) FROM page_views"); n != 3 {
		t.Errorf("%d views stored, want the 3 of the pv1 jobs", n)
	}
	if n := scalar(t, db.Read, "SELECT count(*) FROM processed_jobs WHERE id = 'pv-later'"); n != 0 {
		t.Error("the later job is recorded as done")
	}
	if err := r.Handle(context.Background(), later); !jobs.IsPermanent(err) {
		t.Errorf("Handle of the later job = %v, want its own permanent error", err)
	}
}
