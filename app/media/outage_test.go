package media_test

import (
	"context"
	"encoding/json"
	"testing"

	"site/app/jobs"
	"site/app/media"
	"site/internal/testkit"
)

// TestImageJobWaitsOutAnOutage: with the object store down, an image job
// fails as an outage (retried for as long as it lasts, never
// dead-lettered), not as a bad image.
func TestImageJobWaitsOutAnOutage(t *testing.T) {
	srv, c := testkit.Objects(t)
	p := &media.Processor{S3: c, Bucket: "private", DB: testkit.DataDB(t).Write}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(jobs.ImageJob{Bucket: "private", Key: "posts/a.jpg", Original: "originals/posts/a.jpg"})
	err := p.Handle(context.Background(), jobs.Job{ID: "img-1", Subject: jobs.SubjectImage, Data: data})
	if err == nil || !jobs.IsUnavailable(err) || jobs.IsPermanent(err) {
		t.Fatalf("Handle with the store down = %v; want an outage (jobs.Unavailable)", err)
	}
}
