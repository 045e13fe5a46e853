package media

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/content"
	"site/app/jobs"
	"site/embedded/objects"
)

// Ready is the event published after an image's variants are recorded.
type Ready struct {
	Key         string   `json:"key"`
	Width       int      `json:"width"`
	Height      int      `json:"height"`
	Variants    []string `json:"variants"`
	Thumb       string   `json:"thumb"`
	Placeholder string   `json:"placeholder"`
}

// Processor is the worker's jobs.image handler: original from the object
// store, variants (stripped of metadata) to Bucket, rows in data.db, then
// OnReady.
type Processor struct {
	// S3 reads originals and writes variants.
	S3 *minio.Client
	// Bucket receives the variants: the private bucket, beside the
	// originals. Readers get a variant through the site's /media/, which
	// serves only those of images an entry they can see shows
	// (content.Store.MediaVisible); a bucket anyone may read would show a
	// draft's images. Empty means the bucket of the job's original.
	Bucket string
	// DB is the writer connection of data.db.
	DB *sql.DB
	// Options bound and tune the processing.
	Options Options
	// OnReady, when set, is called after the variants are recorded.
	OnReady func(Ready)
	// Logger receives refusals.
	Logger *slog.Logger
}

// VariantKey is where a variant of key lives in the Processor's Bucket;
// name is its width ("640") or "thumb".
func VariantKey(key, name string) string {
	return "variants/" + strings.TrimSuffix(key, path.Ext(key)) + "/" + name + ".jpg"
}

// Handle does one jobs.image job. A file that is not an acceptable image
// fails permanently (dead letters at once, with the reason); a store that
// is down, or ctx ending while the image waits for its share of
// Options.Budget, fails for a retry. A job that takes longer than
// jobs.AckWait (waiting for the budget included) is logged. An object
// store that cannot be reached is an outage (jobs.Unavailable): the job
// waits for it, however long, and is never dead-lettered for it.
func (p *Processor) Handle(ctx context.Context, j jobs.Job) error {
	err := p.handle(ctx, j)
	if err != nil && !jobs.IsPermanent(err) && objects.Unavailable(err) {
		return jobs.Unavailable(err)
	}
	return err
}

func (p *Processor) handle(ctx context.Context, j jobs.Job) error {
	start := time.Now()
	var ij jobs.ImageJob
	if err := json.Unmarshal(j.Data, &ij); err != nil {
		return jobs.Permanent(fmt.Errorf("image job: %w", err))
	}
	if !content.ValidKey(ij.Key) || !content.ValidKey(ij.Original) {
		return jobs.Permanent(fmt.Errorf("image job: key %q or original %q is not a valid object key", ij.Key, ij.Original))
	}
	done, err := p.done(ctx, j.ID)
	if err != nil || done {
		return err
	}
	obj, err := p.S3.GetObject(ctx, ij.Bucket, ij.Original, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("get original %s/%s: %w", ij.Bucket, ij.Original, err)
	}
	defer obj.Close()
	if st, err := obj.Stat(); err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return jobs.Permanent(fmt.Errorf("original %s/%s: no such object", ij.Bucket, ij.Original))
		}
		return fmt.Errorf("stat original: %w", err)
	} else if p.Options.MaxBytes > 0 && st.Size > int64(p.Options.MaxBytes) {
		return jobs.Permanent(fmt.Errorf("%w: %d bytes is over the cap of %d", ErrTooLarge, st.Size, p.Options.MaxBytes))
	}
	data, err := ReadAll(obj, p.Options.MaxBytes)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return jobs.Permanent(err)
		}
		return fmt.Errorf("read original: %w", err)
	}
	res, err := ProcessContext(ctx, data, p.Options)
	if err != nil {
		if ctx.Err() != nil { // stopped waiting for the decode budget: the file is not at fault
			return fmt.Errorf("image %s: %w", ij.Key, err)
		}
		if p.Logger != nil {
			p.Logger.Warn("image refused", "key", ij.Key, "err", err)
		}
		return jobs.Permanent(fmt.Errorf("image %s: %w", ij.Key, err))
	}
	if took := time.Since(start); took > jobs.AckWait && p.Logger != nil {
		// The server may have delivered the job again meanwhile; the
		// second delivery redoes the work and records nothing twice.
		p.Logger.Warn("image job outlasted the ack wait", "key", ij.Key, "took", took,
			"waited_for_budget", res.Waited, "footprint", res.Footprint, "ack_wait", jobs.AckWait)
	}
	ready := Ready{Key: ij.Key, Width: res.Width, Height: res.Height, Placeholder: res.Placeholder}
	bucket := cmp.Or(p.Bucket, ij.Bucket)
	upload := func(name string, v Variant) (string, error) {
		key := VariantKey(ij.Key, name)
		_, err := p.S3.PutObject(ctx, bucket, key, bytes.NewReader(v.Data), int64(len(v.Data)),
			minio.PutObjectOptions{ContentType: "image/jpeg", CacheControl: "public, max-age=31536000"})
		if err != nil {
			return "", fmt.Errorf("put %s: %w", key, err)
		}
		return key, nil
	}
	keys := make([]string, len(res.Variants))
	for i, v := range res.Variants {
		if keys[i], err = upload(strconv.Itoa(v.Width), v); err != nil {
			return err
		}
	}
	if ready.Thumb, err = upload("thumb", res.Thumb); err != nil {
		return err
	}
	ready.Variants = keys
	if err := p.record(ctx, j, ij, res, keys); err != nil {
		return err
	}
	if p.OnReady != nil {
		p.OnReady(ready)
	}
	return nil
}

func (p *Processor) done(ctx context.Context, id string) (bool, error) {
	done, err := jobs.Done(ctx, p.DB, id)
	if err != nil {
		return false, fmt.Errorf("image job: %w", err)
	}
	return done, nil
}

// record writes the image row, its variants and the job id in one
// transaction; a job already recorded changes nothing.
func (p *Processor) record(ctx context.Context, j jobs.Job, ij jobs.ImageJob, res *Result, keys []string) error {
	tx, err := p.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record variants: %w", err)
	}
	defer tx.Rollback()
	if first, err := jobs.MarkDone(ctx, tx, j, time.Now()); err != nil {
		return fmt.Errorf("record variants: %w", err)
	} else if !first {
		return nil
	}
	if err := content.UpsertImage(ctx, tx, content.Image{Key: ij.Key, OriginalKey: ij.Original, Width: res.Width,
		Height: res.Height, Alt: ij.Alt, Placeholder: res.Placeholder, CreatedAt: time.Now()}); err != nil {
		return fmt.Errorf("record image: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM image_variants WHERE image_key = ?`, ij.Key); err != nil {
		return fmt.Errorf("record variants: %w", err)
	}
	for i, v := range res.Variants {
		if _, err := tx.ExecContext(ctx, `INSERT INTO image_variants (image_key, width, height, format, object_key, bytes)
			VALUES (?, ?, ?, ?, ?, ?)`, ij.Key, v.Width, v.Height, v.Format, keys[i], len(v.Data)); err != nil {
			return fmt.Errorf("record variants: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record variants: %w", err)
	}
	return nil
}
