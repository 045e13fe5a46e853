package cron

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"site/app/backup"
)

// offsiteVerify verifies every tier (see backup.Offsite.Verify) and
// records each result in data.db; the run fails when one tier does.
func offsiteVerify(d Deps) func(context.Context) (Outcome, error) {
	return func(ctx context.Context) (Outcome, error) {
		if out, off := offsiteOff(d); off {
			return out, nil
		}
		var msgs []string
		var errs []error
		for _, tier := range backup.Tiers {
			res, err := d.Offsite.Verify(ctx, tier, d.ScratchDir)
			if ctx.Err() != nil {
				return Outcome{}, ctx.Err()
			}
			if d.Data != nil {
				if rerr := backup.RecordVerify(ctx, d.Data, res); rerr != nil {
					errs = append(errs, rerr)
				}
			}
			msgs = append(msgs, fmt.Sprintf("%s: %s", tier, res.Message))
			if err != nil {
				errs = append(errs, err)
			}
		}
		return Outcome{Message: strings.Join(msgs, " | ")}, errors.Join(errs...)
	}
}
