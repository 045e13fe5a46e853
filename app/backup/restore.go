package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"site/embedded/replica"
)

// ErrNotEmpty is returned by Restore when the destination already holds
// data and Force is not set.
var ErrNotEmpty = errors.New("not empty")

// RestoreOptions says what Restore brings back and where.
type RestoreOptions struct {
	// Tier is one of Tiers.
	Tier string
	// DataDB is the path data.db is restored to.
	DataDB string
	// Timestamp restores data.db as of that time; zero means the latest the tier holds.
	Timestamp time.Time
	// Force replaces an existing data.db and makes non-empty buckets equal
	// to the tier (objects the tier lacks are deleted).
	Force bool
	// Out receives one progress line per bucket and a summary; may be nil.
	Out io.Writer
}

// Restore brings tier back: every bucket from the tier into the Source
// store (objects that differ are copied, progress logged), then data.db
// from the Litestream replica inside the tier. Without Force it refuses a
// data.db that exists or a bucket that is not empty, before changing
// anything.
func (o *Offsite) Restore(ctx context.Context, opt RestoreOptions) (Stats, error) {
	if err := CheckTier(opt.Tier); err != nil {
		return Stats{}, err
	}
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	if !opt.Force {
		if _, err := os.Stat(opt.DataDB); err == nil {
			return Stats{}, fmt.Errorf("%s exists: %w; stop the site and add --force to replace it", opt.DataDB, ErrNotEmpty)
		}
		for _, b := range o.Buckets {
			page, err := o.src.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(1)})
			if err != nil {
				return Stats{}, fmt.Errorf("check bucket %s: %w", b, err)
			}
			if len(page.Contents) > 0 {
				return Stats{}, fmt.Errorf("bucket %s holds objects: %w; add --force to make it equal to the tier", b, ErrNotEmpty)
			}
		}
	}
	tier, _, err := o.loadTier(ctx, opt.Tier, false)
	if err != nil {
		return Stats{}, err
	}
	if len(tier) == 0 {
		return Stats{}, fmt.Errorf("tier %s at %s: %w", opt.Tier, o.where(), ErrEmptyTier)
	}
	var total Stats
	for _, b := range o.Buckets {
		start := time.Now()
		src := map[string]entry{}
		for k, e := range tier {
			if rest, ok := strings.CutPrefix(k, b+"/"); ok {
				src[rest] = e
			}
		}
		dst := map[string]entry{}
		if err := list(ctx, o.src, b, "", func(ob object) { dst[ob.Key] = entry{Size: ob.Size, ETag: ob.ETag} }); err != nil {
			return total, err
		}
		p := &pass{name: "restore " + b, src: src, dst: dst,
			copy:        streamCopy(loc{o.dst, o.Bucket, o.TierPrefix(opt.Tier) + b + "/"}, loc{o.src, b, ""}, o.PartSize),
			del:         deleter(loc{o.src, b, ""}),
			concurrency: o.Concurrency, progress: o.Progress, logger: o.Logger}
		st, err := p.run(ctx)
		total.Add(st)
		fmt.Fprintf(out, "  %-8s %d objects restored (%s), %d deleted, %d already there, in %s\n", b, st.Copied, humanBytes(st.Bytes),
			st.Deleted, st.Checked-st.Copied-st.Failed-st.Vanished, time.Since(start).Round(time.Millisecond))
		if err != nil {
			return total, fmt.Errorf("restore bucket %s: %w", b, err)
		}
	}
	start := time.Now()
	err = replica.Restore(ctx, replica.RestoreOptions{Target: o.replicaTarget(opt.Tier), OutputPath: opt.DataDB,
		Timestamp: opt.Timestamp, Force: opt.Force, Logger: o.Logger})
	if err != nil {
		return total, fmt.Errorf("restore data.db from the tier: %w", err)
	}
	fmt.Fprintf(out, "  %-8s restored from %s in %s\n", "data.db", o.replicaTarget(opt.Tier), time.Since(start).Round(time.Millisecond))
	return total, nil
}
