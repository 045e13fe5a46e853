package backup

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ManifestName is the object in each tier that lists what the tier holds.
const ManifestName = ".manifest.json.gz"

// entry is one object of a tier or of the source: its size, the ETag of
// its content at the source (ETag) and, in a tier, the ETag the tier's
// store gave it (TierETag).
type entry struct {
	Size     int64  `json:"s"`
	ETag     string `json:"e"`
	TierETag string `json:"t,omitempty"`
}

// manifestDoc is the stored form of a manifest.
type manifestDoc struct {
	Version   int              `json:"version"`
	Tier      string           `json:"tier"`
	WrittenAt time.Time        `json:"written_at"`
	Objects   map[string]entry `json:"objects"`
}

// readManifest returns the manifest stored at key; ok is false when there
// is none or it cannot be read (the caller then lists the tier).
func readManifest(ctx context.Context, c *s3.Client, bucket, key string) (map[string]entry, bool, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("read manifest %s: %w", key, err)
	}
	defer out.Body.Close()
	zr, err := gzip.NewReader(out.Body)
	if err != nil {
		return nil, false, nil
	}
	var doc manifestDoc
	if err := json.NewDecoder(zr).Decode(&doc); err != nil || doc.Version != 1 || doc.Objects == nil {
		return nil, false, nil
	}
	return doc.Objects, true, nil
}

// writeManifest stores objects as the manifest of tier at key.
func writeManifest(ctx context.Context, c *s3.Client, bucket, key, tier string, objects map[string]entry) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	doc := manifestDoc{Version: 1, Tier: tier, WrittenAt: time.Now().UTC(), Objects: objects}
	if err := json.NewEncoder(zw).Encode(doc); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes()),
		ContentLength: aws.Int64(int64(buf.Len())), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("write manifest %s: %w", key, err)
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// drain reads and discards the rest of r so the connection can be reused.
func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, r)
	_ = r.Close()
}
