package cron

import (
	"context"
	"errors"

	"site/app/backup"
)

// offsiteBiweekly copies the 1-week tier into the 2-week tier, server-side.
func offsiteBiweekly(d Deps) func(context.Context) (Outcome, error) {
	return func(ctx context.Context) (Outcome, error) {
		if out, off := offsiteOff(d); off {
			return out, nil
		}
		st, err := d.Offsite.Promote(ctx, backup.TierWeekly, backup.TierBiweekly)
		if errors.Is(err, backup.ErrEmptyTier) {
			return Outcome{Skipped: true, Message: err.Error()}, nil
		}
		return Outcome{Message: st.String(), Stats: st}, err
	}
}
