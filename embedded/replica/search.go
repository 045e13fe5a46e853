package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/superfly/ltx"
)

// maxSearchRestores bounds the restores one search for a sound point runs.
// A binary search over the points settles in log2(points) restores: 12 for
// a day of history at the default compaction levels.
const maxSearchRestores = 20

// timeStep is the resolution of LTX timestamps (milliseconds): the smallest
// step after a point's time that a restore by time can be asked for.
const timeStep = time.Millisecond

// diagnose returns the *BrokenError for a point that does not restore:
// failed, the point asked for as of asked (zero: latest), fails for reason.
// It searches the replica for the newest earlier point that restores and
// passes integrity_check and that a restore by time reaches exactly.
//
// Points are tried by TXID with a binary search over the replica's points
// in TXID order, since a break spoils every point after it until the next
// snapshot. The answer is then confirmed as a restore by time would build
// it: Litestream's planner, asked for a time just after the point, must end
// exactly at the point with no hole in the way.
func diagnose(ctx context.Context, b builder, cat *catalog, asked time.Time, failed ltx.TXID, reason error, logger *slog.Logger) error {
	if !cat.timed { // the times named must be the ones a restore by time uses
		timed, err := listCatalog(ctx, cat.ReplicaClient, true)
		if err != nil {
			return fmt.Errorf("restore: txid %s fails (%v); list replica: %w", failed, reason, err)
		}
		cat = timed
	}
	e := &BrokenError{Asked: asked, Failed: cat.point(failed), Reason: reason}
	points := cat.pointsBefore(failed)
	logger.WarnContext(ctx, "the point asked for does not restore; searching the replica for the newest earlier point that does",
		logKeyTXID, failed.String(), logKeyAt, e.Failed.Time, logKeyError, reason, logKeyPoints, len(points))

	try := func(i int) (bool, error) {
		p := points[i]
		e.Tried++
		tmp, err := b.build(ctx, ltx.TXID(p.TXID))
		if err == nil {
			removeAll(tmp)
			logger.InfoContext(ctx, "earlier point passes", logKeyTXID, formatTXID(p.TXID), logKeyAt, p.Time, logKeyTried, e.Tried)
			return true, nil
		}
		if localFailure(ctx, err) {
			return false, fmt.Errorf("restore: try txid %s: %w", formatTXID(p.TXID), err)
		}
		logger.InfoContext(ctx, "earlier point fails", logKeyTXID, formatTXID(p.TXID), logKeyAt, p.Time, logKeyTried, e.Tried, logKeyError, err)
		return false, nil
	}

	// Invariant: points[hi] fails (hi == len(points) is the failed point
	// itself) and points[lo] passes (lo == -1: none known to).
	lo, hi := -1, len(points)
	for hi-lo > 1 && e.Tried < maxSearchRestores {
		mid := lo + (hi-lo)/2
		ok, err := try(mid)
		if err != nil {
			return err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo < 0 {
		e.Exhausted = hi == 0
		return e
	}

	// Confirm the answer as the operator will ask for it: by time.
	for i := lo; i >= 0; i-- {
		p := points[i]
		at := p.Time.Add(timeStep)
		if !cat.reaches(ctx, at, ltx.TXID(p.TXID), logger) {
			logger.InfoContext(ctx, "earlier point cannot be named by time", logKeyTXID, formatTXID(p.TXID), logKeyAt, p.Time)
			if i == lo && e.Unnamed.TXID == 0 {
				e.Unnamed = p // restored and passed in the search
			}
			continue
		}
		if i < lo { // below the search: not restored yet
			if e.Tried >= maxSearchRestores {
				return e
			}
			ok, err := try(i)
			if err != nil {
				return err
			} else if !ok {
				continue
			}
		}
		e.Good, e.At, e.Unnamed = p, at, Point{}
		logger.InfoContext(ctx, "found the newest point that passes", logKeyTXID, formatTXID(p.TXID), logKeyAt, p.Time, logKeyTried, e.Tried)
		return e
	}
	e.Exhausted = true
	return e
}

// reaches reports whether a restore as of at builds exactly txid.
func (c *catalog) reaches(ctx context.Context, at time.Time, txid ltx.TXID, logger *slog.Logger) bool {
	res, err := c.resolve(ctx, at, logger)
	return err == nil && res.broken == nil && res.plan[len(res.plan)-1].MaxTXID == txid
}

// localFailure reports whether a restore failed for a reason of this call or
// this machine (cancelled, disk full, read-only, no permission) rather than
// of the replica's contents.
func localFailure(ctx context.Context, err error) bool {
	return ctx.Err() != nil ||
		errors.Is(err, syscall.ENOSPC) ||
		errors.Is(err, syscall.EROFS) ||
		errors.Is(err, os.ErrPermission)
}
