package analytics_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"site/app/analytics"
)

// FuzzBatchDecode: whatever bytes arrive as a page-view batch, decoding
// either refuses them or gives views that encode to a batch decoding to
// the same views; that batch is the format's canonical form (encoding its
// views again gives it byte for byte), and it counts its views.
func FuzzBatchDecode(f *testing.F) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	real := analytics.NewBatchJob([]analytics.PageView{
		{At: at, Path: "/posts/hello-world", Host: "example.org", Referrer: "https://news.example/item?id=1", UserAgent: firefox, IP: "192.0.2.1"},
		{At: at.Add(time.Second), Path: "/", Host: "example.org", UserAgent: firefox, IP: "2001:db8::1", ForwardedFor: "198.51.100.7, 10.0.0.1", DNT: true},
		{At: at.Add(2 * time.Second), Path: "/posts/hello-world", Host: "example.org", UserAgent: "curl/8.5.0", UTMSource: "feed", GPC: true},
	}).Data
	for _, seed := range [][]byte{
		real, []byte("pv1\n"), []byte("pv1\n\t\\^x\t\t\t\t\t\t\t\n"), []byte("pv1\n1\t/\t\t\t\t\t\t\tdg\n1\t^0\t^1\t\t\t\t\t\t\n"),
		[]byte("pv1\n-62135596800000\t/\t\t\t\t\t\t\t\n"), []byte("pv1\n-0\t\\t\\n\\\\\t\t\t\t\t\t\tgd\n"), []byte("pv2\n"), []byte("pv1"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		views, err := analytics.DecodeBatch(data)
		if err != nil {
			if views != nil {
				t.Fatalf("payload %q refused (%v) with %d views", data, err, len(views))
			}
			return
		}
		job := analytics.NewBatchJob(views)
		if job.Count != len(views) {
			t.Fatalf("payload %q: job counts %d views of %d", data, job.Count, len(views))
		}
		again, err := analytics.DecodeBatch(job.Data)
		if err != nil {
			t.Fatalf("payload %q: its views encode to %q, which does not decode: %v", data, job.Data, err)
		}
		if len(again) != len(views) || (len(views) > 0 && !reflect.DeepEqual(again, views)) {
			t.Fatalf("payload %q: round trip\n got %+v\nwant %+v", data, again, views)
		}
		if canon := analytics.NewBatchJob(again).Data; !bytes.Equal(canon, job.Data) {
			t.Fatalf("payload %q: encoded twice differs:\n%q\n%q", data, job.Data, canon)
		}
	})
}
