package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Tier names: the key prefixes of the three copies in the offsite bucket.
const (
	TierDaily    = "daily"
	TierWeekly   = "1-week"
	TierBiweekly = "2-week"
)

// ErrEmptyTier is returned by Promote when the tier to copy holds nothing:
// no run has filled it yet (it is never copied over an older tier).
var ErrEmptyTier = errors.New("empty: no run has filled it yet")

// Tiers lists the tiers from the newest to the oldest.
var Tiers = []string{TierDaily, TierWeekly, TierBiweekly}

// Offsite mirrors the source buckets into the tiers of an offsite bucket.
// Set the fields, then Open.
type Offsite struct {
	// Source is the object store holding Buckets.
	Source Endpoint
	// Buckets are mirrored into the daily tier, each under its own name;
	// default public, private, backup.
	Buckets []string
	// Target is the offsite S3 store; Bucket and Prefix say where in it.
	Target Endpoint
	Bucket string
	Prefix string
	// ReplicaBucket and ReplicaPath locate Litestream's replica of data.db
	// among Buckets (default "backup" and "data.db").
	ReplicaBucket string
	ReplicaPath   string
	// PartSize is the multipart upload part size (default DefaultPartSize);
	// CopyPartSize that of server-side copies (default DefaultCopyPartSize).
	PartSize     int64
	CopyPartSize int64
	// Concurrency is the number of objects moved at once; default 8 (each
	// holds up to PartSize in memory).
	Concurrency int
	// Progress is how often a long transfer logs its progress; default 10s.
	Progress time.Duration
	Logger   *slog.Logger

	src, dst *s3.Client
}

// Open fills the defaults and builds the S3 clients; it does not touch the
// network, so an unreachable offsite store never stops a start (runs fail
// and alert instead).
func (o *Offsite) Open(ctx context.Context) error {
	if o.Bucket == "" {
		return errors.New("offsite: bucket required")
	}
	if len(o.Buckets) == 0 {
		o.Buckets = []string{"public", "private", "backup"}
	}
	if o.ReplicaBucket == "" {
		o.ReplicaBucket = "backup"
	}
	if o.ReplicaPath == "" {
		o.ReplicaPath = "data.db"
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	if o.CopyPartSize <= 0 {
		o.CopyPartSize = DefaultCopyPartSize
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Progress <= 0 {
		o.Progress = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	var err error
	if o.src, err = NewS3(ctx, o.Source); err != nil {
		return fmt.Errorf("offsite: source: %w", err)
	}
	if o.dst, err = NewS3(ctx, o.Target); err != nil {
		return fmt.Errorf("offsite: %w", err)
	}
	return nil
}

// Check asks the offsite store whether the bucket is there and ours.
func (o *Offsite) Check(ctx context.Context) error {
	if _, err := o.dst.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.Bucket)}); err != nil {
		return fmt.Errorf("offsite: bucket %s at %s: %w", o.Bucket, o.where(), err)
	}
	return nil
}

// where names the offsite endpoint for messages.
func (o *Offsite) where() string {
	if o.Target.URL == "" {
		return "AWS S3 (" + o.Target.Region + ")"
	}
	return o.Target.URL
}

// TierPrefix is the key prefix of tier inside the offsite bucket.
func (o *Offsite) TierPrefix(tier string) string { return o.Prefix + tier + "/" }

func (o *Offsite) manifestKey(tier string) string { return o.TierPrefix(tier) + ManifestName }

// listSources lists every source bucket at once; keys are "bucket/key".
func (o *Offsite) listSources(ctx context.Context) (map[string]entry, error) {
	out := map[string]entry{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(o.Buckets))
	for i, b := range o.Buckets {
		wg.Go(func() {
			local := map[string]entry{}
			errs[i] = list(ctx, o.src, b, "", func(ob object) {
				local[b+"/"+ob.Key] = entry{Size: ob.Size, ETag: ob.ETag}
			})
			mu.Lock()
			for k, e := range local {
				out[k] = e
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// loadTier returns what tier holds: from its manifest, or, when full is
// set or there is no manifest, from a listing of the tier (reading each
// object's source ETag from its metadata). fromManifest says which.
func (o *Offsite) loadTier(ctx context.Context, tier string, full bool) (m map[string]entry, fromManifest bool, err error) {
	if !full {
		m, ok, err := readManifest(ctx, o.dst, o.Bucket, o.manifestKey(tier))
		if err != nil {
			return nil, false, err
		}
		if ok {
			return m, true, nil
		}
		o.Logger.Info("offsite: no manifest; listing the tier", "tier", tier)
	}
	m, err = o.listTier(ctx, tier)
	if err != nil {
		return nil, false, err
	}
	if err := o.fillSourceETags(ctx, tier, m); err != nil {
		return nil, false, err
	}
	return m, false, nil
}

// listTier lists tier; ETag is left empty, TierETag is the listing's.
func (o *Offsite) listTier(ctx context.Context, tier string) (map[string]entry, error) {
	m := map[string]entry{}
	err := list(ctx, o.dst, o.Bucket, o.TierPrefix(tier), func(ob object) {
		if ob.Key != ManifestName {
			m[ob.Key] = entry{Size: ob.Size, TierETag: ob.ETag}
		}
	})
	return m, err
}

// fillSourceETags reads the source ETag of every object of m from its metadata.
func (o *Offsite) fillSourceETags(ctx context.Context, tier string, m map[string]entry) error {
	keys := sortedKeys(m)
	jobs := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for k := range jobs {
				head, err := o.dst.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.TierPrefix(tier) + k)})
				mu.Lock()
				switch {
				case isNotFound(err):
					delete(m, k)
				case err != nil:
					if firstErr == nil {
						firstErr = fmt.Errorf("head %s: %w", k, err)
					}
				default:
					e := m[k]
					e.ETag = head.Metadata[metaSourceETag]
					m[k] = e
				}
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	return firstErr
}

// Daily mirrors the source buckets into the daily tier: objects new or
// changed (size or ETag) are copied, objects the source lost are deleted.
// Litestream files compacted away between the listing and the copy make it
// list again (at most three passes), so the tier's replica is whole.
func (o *Offsite) Daily(ctx context.Context) (Stats, error) {
	start := time.Now()
	src, err := o.listSources(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("daily: %w", err)
	}
	dst, fromManifest, err := o.loadTier(ctx, TierDaily, false)
	if err != nil {
		return Stats{}, fmt.Errorf("daily: %w", err)
	}
	if len(src) == 0 && len(dst) > 0 {
		return Stats{}, fmt.Errorf("daily: the source buckets are empty; refusing to empty the daily tier (restore first, or clear %s by hand)", o.TierPrefix(TierDaily))
	}
	cp := func(ctx context.Context, key string, e entry) (entry, error) {
		b, k, _ := strings.Cut(key, "/")
		return streamCopy(loc{o.src, b, ""}, loc{o.dst, o.Bucket, o.TierPrefix(TierDaily) + b + "/"}, o.PartSize)(ctx, k, e)
	}
	var total Stats
	for n := 1; ; n++ {
		p := &pass{name: TierDaily, src: src, dst: dst, copy: cp, del: deleter(loc{o.dst, o.Bucket, o.TierPrefix(TierDaily)}),
			concurrency: o.Concurrency, progress: o.Progress, logger: o.Logger}
		st, err := p.run(ctx)
		checked := total.Checked
		total.Add(st)
		if n > 1 {
			total.Checked = checked
		}
		if err != nil || st.Vanished == 0 || n == 3 {
			if werr := o.saveManifest(ctx, TierDaily, dst, total, fromManifest); werr != nil {
				err = errors.Join(err, werr)
			}
			o.logDone(TierDaily, total, start, err)
			return total, err
		}
		o.Logger.Info("offsite: source objects vanished during the copy; listing again", "count", st.Vanished)
		if src, err = o.listSources(ctx); err != nil {
			return total, fmt.Errorf("daily: %w", err)
		}
	}
}

// Promote copies tier from into tier to with server-side copies: weekly
// daily → 1-week, biweekly 1-week → 2-week.
func (o *Offsite) Promote(ctx context.Context, from, to string) (Stats, error) {
	start := time.Now()
	src, _, err := o.loadTier(ctx, from, false)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", to, err)
	}
	if len(src) == 0 {
		return Stats{}, fmt.Errorf("%s: tier %s: %w", to, from, ErrEmptyTier)
	}
	dst, fromManifest, err := o.loadTier(ctx, to, false)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", to, err)
	}
	p := &pass{name: to, src: src, dst: dst,
		copy:        serverCopy(loc{o.dst, o.Bucket, o.TierPrefix(from)}, loc{o.dst, o.Bucket, o.TierPrefix(to)}, o.CopyPartSize),
		del:         deleter(loc{o.dst, o.Bucket, o.TierPrefix(to)}),
		concurrency: o.Concurrency, progress: o.Progress, logger: o.Logger}
	st, err := p.run(ctx)
	if werr := o.saveManifest(ctx, to, dst, st, fromManifest); werr != nil {
		err = errors.Join(err, werr)
	}
	o.logDone(to, st, start, err)
	return st, err
}

// saveManifest writes the tier's manifest when the run changed the tier or
// the manifest was rebuilt from a listing.
func (o *Offsite) saveManifest(ctx context.Context, tier string, m map[string]entry, st Stats, fromManifest bool) error {
	if fromManifest && st.Copied+st.Deleted+st.Failed+st.Vanished == 0 {
		return nil
	}
	// Written even when ctx ended, so the copies made so far are not redone.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return writeManifest(wctx, o.dst, o.Bucket, o.manifestKey(tier), tier, m)
}

func (o *Offsite) logDone(tier string, st Stats, start time.Time, err error) {
	args := []any{"tier", tier, "checked", st.Checked, "copied", st.Copied, "bytes", st.Bytes,
		"deleted", st.Deleted, "failed", st.Failed, "took", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		o.Logger.Error("offsite: run failed", append(args, "err", err)...)
		return
	}
	o.Logger.Info("offsite: run done", args...)
}
