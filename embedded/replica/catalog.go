package replica

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// catalog is one listing of every LTX file in a replica, levels 0 to
// litestream.SnapshotLevel. It is a litestream.ReplicaClient whose LTXFiles
// serves that listing, so Litestream's own planner (CalcRestorePlan) can be
// asked about many points for the price of one listing; everything else goes
// to the real client.
type catalog struct {
	litestream.ReplicaClient

	levels [][]*ltx.FileInfo // by level, in filename (MinTXID, MaxTXID) order
	timed  bool              // CreatedAt is the file's own timestamp, not the object's LastModified
}

// listCatalog lists the replica. With timed, each file's CreatedAt is the
// timestamp Litestream stored with it (one HEAD request per file), as a
// restore by time needs; without, it is the object's LastModified.
func listCatalog(ctx context.Context, client litestream.ReplicaClient, timed bool) (*catalog, error) {
	c := &catalog{ReplicaClient: client, timed: timed}
	for level := 0; level <= litestream.SnapshotLevel; level++ {
		itr, err := client.LTXFiles(ctx, level, 0, timed)
		if err != nil {
			return nil, fmt.Errorf("list level %d: %w", level, err)
		}
		infos, err := ltx.SliceFileIterator(itr) // closes itr
		if err != nil {
			return nil, fmt.Errorf("list level %d: %w", level, err)
		}
		slices.SortFunc(infos, func(a, b *ltx.FileInfo) int {
			return cmp.Or(cmp.Compare(a.MinTXID, b.MinTXID), cmp.Compare(a.MaxTXID, b.MaxTXID))
		})
		c.levels = append(c.levels, infos)
	}
	return c, nil
}

// LTXFiles serves the listing: the files of level whose MinTXID is at least
// seek, as the S3 client does.
func (c *catalog) LTXFiles(_ context.Context, level int, seek ltx.TXID, useMetadata bool) (ltx.FileIterator, error) {
	if useMetadata && !c.timed {
		return nil, errors.New("catalog: listed without the files' timestamps")
	}
	if level < 0 || level >= len(c.levels) {
		return ltx.NewFileInfoSliceIterator(nil), nil
	}
	infos := c.levels[level]
	i, _ := slices.BinarySearchFunc(infos, seek, func(info *ltx.FileInfo, seek ltx.TXID) int {
		return cmp.Compare(info.MinTXID, seek)
	})
	// A copy: the iterator sorts its slice in place.
	return ltx.NewFileInfoSliceIterator(slices.Clone(infos[i:])), nil
}

// all calls fn for every file at every level.
func (c *catalog) all(fn func(*ltx.FileInfo)) {
	for _, infos := range c.levels {
		for _, info := range infos {
			fn(info)
		}
	}
}

// newest returns the newest point a restore as of ts (zero: latest) asks
// for: the highest MaxTXID of the files shipped before ts; zero if none.
func (c *catalog) newest(ts time.Time) ltx.TXID {
	var txid ltx.TXID
	c.all(func(info *ltx.FileInfo) {
		if (ts.IsZero() || info.CreatedAt.Before(ts)) && info.MaxTXID > txid {
			txid = info.MaxTXID
		}
	})
	return txid
}

// point returns txid with its time: the earliest CreatedAt of the files
// ending at it (a snapshot ending at the same txid is written later).
func (c *catalog) point(txid ltx.TXID) Point {
	p := Point{TXID: uint64(txid)}
	c.all(func(info *ltx.FileInfo) {
		if info.MaxTXID == txid && (p.Time.IsZero() || info.CreatedAt.Before(p.Time)) {
			p.Time = info.CreatedAt
		}
	})
	return p
}

// pointsBefore returns every point below txid, oldest first: the distinct
// MaxTXIDs of the files at all levels.
func (c *catalog) pointsBefore(txid ltx.TXID) []Point {
	seen := make(map[ltx.TXID]bool)
	var txids []ltx.TXID
	c.all(func(info *ltx.FileInfo) {
		if info.MaxTXID < txid && !seen[info.MaxTXID] {
			seen[info.MaxTXID] = true
			txids = append(txids, info.MaxTXID)
		}
	})
	slices.Sort(txids)
	points := make([]Point, len(txids))
	for i, t := range txids {
		points[i] = c.point(t)
	}
	return points
}

// holeAfter reports whether no file below the snapshot level holds the
// transaction after txid, so the chain cannot go past txid (Litestream's own
// contiguity rule for a restore of the latest point).
func (c *catalog) holeAfter(txid ltx.TXID) bool {
	for _, infos := range c.levels[:litestream.SnapshotLevel] {
		for _, info := range infos {
			if info.MinTXID <= txid+1 && info.MaxTXID > txid {
				return false
			}
		}
	}
	return true
}

// resolution is what a restore as of a time would build.
type resolution struct {
	plan   []*ltx.FileInfo // the files to apply; the last one's MaxTXID is the point built
	asked  ltx.TXID        // the newest point shipped before the time
	broken error           // why the point asked for cannot be built; nil if it can
}

// resolve plans a restore as of ts (zero: latest) with Litestream's planner,
// and says why the chain cannot give the point asked for: the planner
// refuses it (a latest restore over a hole), finds nothing to start from
// though the replica holds files, or stops short at a hole, which a restore
// by time would otherwise pass over silently, landing an older state than
// asked. It returns litestream.ErrTxNotAvailable (wrapped) when the replica
// is empty or has no point as old as ts.
func (c *catalog) resolve(ctx context.Context, ts time.Time, logger *slog.Logger) (resolution, error) {
	r := resolution{asked: c.newest(ts)}
	plan, err := litestream.CalcRestorePlan(ctx, c, 0, ts, logger)
	switch {
	case errors.Is(err, litestream.ErrTxNotAvailable) && ts.IsZero() && r.asked != 0:
		r.broken = errors.New("the chain has no start: no snapshot and no LTX file from txid 1")
		return r, nil
	case errors.Is(err, litestream.ErrTxNotAvailable):
		return r, err
	case ctx.Err() != nil:
		return r, context.Cause(ctx)
	case err != nil:
		r.broken = fmt.Errorf("plan: %w", err)
		return r, nil
	}
	r.plan = plan
	if end := plan[len(plan)-1].MaxTXID; end < r.asked && c.holeAfter(end) {
		r.broken = fmt.Errorf("no LTX file holds txid %s: the chain has a hole after txid %s", end+1, end)
	}
	return r, nil
}
