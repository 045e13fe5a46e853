package jobs

import (
	"encoding/json"
	"fmt"
)

// ImageJob is the payload of a jobs.image job: make the responsive variants
// of an uploaded image.
type ImageJob struct {
	// Key is the image's key (images.key), e.g. "posts/hello/photo.jpg";
	// variants go under "variants/<Key>/" in the private bucket, which
	// only the site's /media/ serves.
	Key string `json:"key"`
	// Bucket and Original locate the untouched upload, normally in the
	// private bucket.
	Bucket   string `json:"bucket"`
	Original string `json:"original"`
	// Alt is the text alternative, kept when the images row has none.
	Alt string `json:"alt,omitempty"`
}

// NewImageJob wraps an image job; its id is derived from the image key and
// the original, so publishing the same upload twice makes one job.
func NewImageJob(p ImageJob) (Job, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return Job{}, fmt.Errorf("encode image job: %w", err)
	}
	return Job{ID: "img-" + digest(p.Key, p.Bucket, p.Original), Subject: SubjectImage, Data: data}, nil
}
