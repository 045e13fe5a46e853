package cron

import (
	"context"
	"errors"

	"site/app/backup"
)

// offsiteWeekly copies the daily tier into the 1-week tier, server-side.
func offsiteWeekly(d Deps) func(context.Context) (Outcome, error) {
	return func(ctx context.Context) (Outcome, error) {
		if out, off := offsiteOff(d); off {
			return out, nil
		}
		st, err := d.Offsite.Promote(ctx, backup.TierDaily, backup.TierWeekly)
		if errors.Is(err, backup.ErrEmptyTier) {
			return Outcome{Skipped: true, Message: err.Error()}, nil
		}
		return Outcome{Message: st.String(), Stats: st}, err
	}
}
