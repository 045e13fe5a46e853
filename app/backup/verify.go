package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the process's one SQLite engine

	"site/embedded/replica"
)

// VerifyResult is what a verification of one tier found.
type VerifyResult struct {
	Tier string
	// OK is set when every check passed.
	OK bool
	// Empty is set when the tier holds nothing yet; nothing else was checked.
	Empty bool
	// Integrity is PRAGMA integrity_check of the tier's data.db ("ok").
	Integrity string
	// Objects and Bytes are what the tier holds.
	Objects, Bytes int64
	// Drift counts objects where the tier differs from its manifest
	// (changed behind our back); the manifest is corrected so that the next
	// run copies them again.
	Drift int64
	// VariantsChecked and VariantsBad count the image variants data.db
	// refers to, and those missing from the tier or of the wrong size.
	VariantsChecked, VariantsBad int64
	// Message summarises the result, with notes on skipped checks.
	Message         string
	Started, Finish time.Time
}

// Verify checks tier: it lists the tier and compares it with the manifest,
// restores data.db from the Litestream replica inside the tier into
// scratchDir, runs PRAGMA integrity_check on it, and checks that every image
// variant data.db refers to exists in the tier's public bucket with the
// recorded size. The error is non-nil when a check failed or could not run.
func (o *Offsite) Verify(ctx context.Context, tier, scratchDir string) (VerifyResult, error) {
	res := VerifyResult{Tier: tier, Started: time.Now()}
	fail := func(err error) (VerifyResult, error) {
		res.OK, res.Finish, res.Message = false, time.Now(), err.Error()
		return res, fmt.Errorf("verify %s: %w", tier, err)
	}
	listed, err := o.listTier(ctx, tier)
	if err != nil {
		return fail(err)
	}
	for _, e := range listed {
		res.Objects++
		res.Bytes += e.Size
	}
	if len(listed) == 0 {
		res.OK, res.Empty, res.Message, res.Finish = true, true, "tier is empty (no run has filled it yet)", time.Now()
		return res, nil
	}
	var notes []string
	manifest, ok, err := readManifest(ctx, o.dst, o.Bucket, o.manifestKey(tier))
	if err != nil {
		return fail(err)
	}
	if !ok {
		if err := o.fillSourceETags(ctx, tier, listed); err != nil {
			return fail(err)
		}
		if err := writeManifest(ctx, o.dst, o.Bucket, o.manifestKey(tier), tier, listed); err != nil {
			return fail(err)
		}
		notes = append(notes, "the tier had no manifest; rebuilt from a listing")
	} else if fixed, drift := reconcile(manifest, listed); drift > 0 {
		res.Drift = drift
		if err := writeManifest(ctx, o.dst, o.Bucket, o.manifestKey(tier), tier, fixed); err != nil {
			return fail(err)
		}
	}

	dir, err := os.MkdirTemp(scratchDir, "verify-"+tier+"-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "data.db")
	err = replica.Restore(ctx, replica.RestoreOptions{Target: o.replicaTarget(tier), OutputPath: dbPath, Logger: o.Logger})
	if err != nil {
		return fail(fmt.Errorf("restore data.db from the tier: %w", err))
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res.Integrity); err != nil {
		return fail(fmt.Errorf("integrity_check: %w", err))
	}
	note, checked, bad, err := checkVariants(ctx, db, listed)
	if err != nil {
		return fail(err)
	}
	res.VariantsChecked, res.VariantsBad = checked, bad
	if note != "" {
		notes = append(notes, note)
	}
	var problems []string
	if res.Integrity != "ok" {
		problems = append(problems, "integrity_check: "+res.Integrity)
	}
	if res.Drift > 0 {
		problems = append(problems, fmt.Sprintf("%d objects differed from the manifest (changed behind our back); the next run copies them again", res.Drift))
	}
	if bad > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d image variants missing or of the wrong size", bad, checked))
	}
	res.OK = len(problems) == 0
	summary := fmt.Sprintf("%d objects (%s), data.db integrity %s, %d image variants checked", res.Objects, humanBytes(res.Bytes), res.Integrity, checked)
	res.Message = strings.Join(append(append(problems, summary), notes...), "; ")
	res.Finish = time.Now()
	if !res.OK {
		return res, fmt.Errorf("verify %s: %s", tier, strings.Join(problems, "; "))
	}
	return res, nil
}

// reconcile compares a manifest with a listing of the tier. It returns the
// manifest corrected to what the tier holds (objects that differ lose their
// source ETag, so the next run copies them) and the number that differed.
func reconcile(manifest, listed map[string]entry) (map[string]entry, int64) {
	fixed := make(map[string]entry, len(listed))
	var drift int64
	for k, l := range listed {
		m, ok := manifest[k]
		if ok && m.Size == l.Size && m.TierETag == l.TierETag {
			fixed[k] = m
			continue
		}
		drift++
		fixed[k] = entry{Size: l.Size, TierETag: l.TierETag}
	}
	for k := range manifest {
		if _, ok := listed[k]; !ok {
			drift++
		}
	}
	return fixed, drift
}

// replicaTarget is the Litestream replica inside tier.
func (o *Offsite) replicaTarget(tier string) replica.Target {
	return replica.Target{
		Endpoint: o.Target.URL, Region: o.Target.Region, Bucket: o.Bucket,
		Path:      o.TierPrefix(tier) + o.ReplicaBucket + "/" + strings.Trim(o.ReplicaPath, "/"),
		AccessKey: o.Target.AccessKey, SecretKey: o.Target.SecretKey,
	}
}

// checkVariants checks every row of image_variants against the tier's
// public bucket. A database without the table is noted, not failed.
func checkVariants(ctx context.Context, db *sql.DB, listed map[string]entry) (note string, checked, bad int64, err error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'image_variants'`).Scan(&n); err != nil {
		return "", 0, 0, err
	}
	if n == 0 {
		return "image_variants table not in this data.db; variant check skipped", 0, 0, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT object_key, bytes FROM image_variants`)
	if err != nil {
		return "", 0, 0, fmt.Errorf("image variants: %w", err)
	}
	defer rows.Close()
	var missing []string
	for rows.Next() {
		var key string
		var size int64
		if err := rows.Scan(&key, &size); err != nil {
			return "", 0, 0, err
		}
		checked++
		// Variants live in private; a backup made before the image sweep
		// moved them out of public holds them there.
		k := strings.TrimPrefix(key, "/")
		e, ok := listed["private/"+k]
		if !ok {
			e, ok = listed["public/"+k]
		}
		if !ok || (size > 0 && e.Size != size) {
			bad++
			if len(missing) < 3 {
				missing = append(missing, key)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return "", 0, 0, err
	}
	if bad > 0 {
		note = "bad variants include " + strings.Join(missing, ", ")
	}
	return note, checked, bad, nil
}

// RecordVerify stores r in data.db's backup_verifies table.
func RecordVerify(ctx context.Context, db *sql.DB, r VerifyResult) error {
	ok := 0
	if r.OK {
		ok = 1
	}
	_, err := db.ExecContext(ctx, `INSERT INTO backup_verifies (tier, ok, integrity, objects, bytes, drift,
		variants_checked, variants_bad, message, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Tier, ok, r.Integrity, r.Objects, r.Bytes, r.Drift, r.VariantsChecked, r.VariantsBad, r.Message,
		r.Started.UnixMilli(), r.Finish.UnixMilli())
	if err != nil {
		return fmt.Errorf("record verify of %s: %w", r.Tier, err)
	}
	return nil
}

// errNoTier is returned for a tier name that is not one of Tiers.
var errNoTier = errors.New("unknown tier (daily, 1-week or 2-week)")

// CheckTier returns an error naming the tiers when tier is not one.
func CheckTier(tier string) error {
	for _, t := range Tiers {
		if t == tier {
			return nil
		}
	}
	return fmt.Errorf("%q: %w", tier, errNoTier)
}
