package cron

import (
	"context"
	"fmt"
)

// offsiteDaily forces a Litestream sync of data.db, then mirrors the
// public, private and backup buckets into the daily tier, so the replica
// and the files in the tier are from the same moment.
func offsiteDaily(d Deps) func(context.Context) (Outcome, error) {
	return func(ctx context.Context) (Outcome, error) {
		if out, off := offsiteOff(d); off {
			return out, nil
		}
		note := ""
		if d.Sync != nil {
			if err := d.Sync(ctx); err != nil {
				return Outcome{}, fmt.Errorf("litestream sync before the daily copy: %w", err)
			}
		} else {
			note = "; Litestream not synced first (the replicator runs in another process)"
		}
		st, err := d.Offsite.Daily(ctx)
		return Outcome{Message: st.String() + note, Stats: st}, err
	}
}
