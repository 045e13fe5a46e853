package backup_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"site/app/backup"
	"site/app/backup/backuptest"
	"site/embedded/replica"
	"site/internal/testkit"
)

// TestVerify restores the daily tier's data.db and checks it: first
// without an image_variants table (skipped with a note), then with one
// whose variant exists; an object deleted from the tier behind our back
// fails the verify (drift and a missing variant), and the next daily run
// copies it back.
func TestVerify(t *testing.T) {
	ctx := context.Background()
	src := backuptest.MustSource(t)
	aws := backuptest.MustAWS(t)
	sc, ac := backuptest.MustS3(t, src), backuptest.MustS3(t, aws)
	db := testkit.DataDB(t)
	rep := &replica.Replicator{DBPath: db.Path, Logger: slog.New(slog.DiscardHandler), Target: replica.Target{
		Endpoint: src.URL, Bucket: "backup", Path: "data.db", AccessKey: src.AccessKey, SecretKey: src.SecretKey}}
	if err := rep.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rep.Close(context.Background()) })
	o := newOffsite(t, src, aws)
	scratch := t.TempDir()

	backuptest.Put(t, sc, "public", "img/a-640.webp", strings.Repeat("w", 640))
	// A data.db without image_variants (as before migration 0002): skipped with a note.
	if _, err := db.Write.Exec(`DROP TABLE IF EXISTS image_variants`); err != nil {
		t.Fatal(err)
	}
	if err := rep.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Daily(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := o.Verify(ctx, backup.TierDaily, scratch)
	if err != nil || !res.OK || res.Integrity != "ok" || !strings.Contains(res.Message, "image_variants table not in this data.db; variant check skipped") {
		t.Fatalf("verify without image_variants: %+v, %v", res, err)
	}

	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS images (key TEXT PRIMARY KEY)`,
		`CREATE TABLE IF NOT EXISTS image_variants (image_key TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
			format TEXT NOT NULL, object_key TEXT NOT NULL, bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (image_key, width, format))`,
		`INSERT INTO images (key) VALUES ('img/a.jpg')`,
		`INSERT INTO image_variants (image_key, width, height, format, object_key, bytes) VALUES ('img/a.jpg', 640, 480, 'webp', 'img/a-640.webp', 640)`,
	} {
		if _, err := db.Write.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := rep.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Daily(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = o.Verify(ctx, backup.TierDaily, scratch)
	if err != nil || !res.OK || res.VariantsChecked != 1 || res.VariantsBad != 0 {
		t.Fatalf("verify with a good variant: %+v, %v", res, err)
	}
	if err := backup.RecordVerify(ctx, db.Write, res); err != nil {
		t.Fatal(err)
	}

	// Behind our back: the variant disappears from the tier. A daily run
	// trusts the manifest and copies nothing; verify finds it.
	backuptest.Delete(t, ac, backuptest.OffsiteBucket, "site/daily/public/img/a-640.webp")
	// (Litestream keeps writing to the backup bucket, so other objects may be copied.)
	variantKey := "site/daily/public/img/a-640.webp"
	if _, err := o.Daily(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := backuptest.Get(t, ac, backuptest.OffsiteBucket, variantKey); ok {
		t.Fatal("a daily run found the tampering; it should trust the manifest until verify")
	}
	res, err = o.Verify(ctx, backup.TierDaily, scratch)
	if err == nil || res.OK || res.Drift != 1 || res.VariantsBad != 1 {
		t.Fatalf("verify after tampering: %+v, %v; want drift 1, 1 bad variant", res, err)
	}
	t.Logf("verify after tampering: %v", err)
	if err := backup.RecordVerify(ctx, db.Write, res); err != nil {
		t.Fatal(err)
	}
	last, err := backup.LastVerifies(ctx, db.Read)
	if err != nil || last[backup.TierDaily].OK || last[backup.TierDaily].Drift != 1 {
		t.Errorf("last recorded verify: %+v, %v", last[backup.TierDaily], err)
	}
	st, err := o.Daily(ctx)
	if err != nil || st.Copied < 1 || st.Bytes < 640 {
		t.Fatalf("daily after verify: %+v, %v; want the variant copied back", st, err)
	}
	if got, _ := backuptest.Get(t, ac, backuptest.OffsiteBucket, variantKey); got != strings.Repeat("w", 640) {
		t.Fatalf("variant in the tier after the repair: %d bytes", len(got))
	}
	if res, err := o.Verify(ctx, backup.TierDaily, scratch); err != nil || !res.OK {
		t.Fatalf("verify after the repair: %+v, %v", res, err)
	}
	if _, err := o.Verify(ctx, backup.TierWeekly, scratch); err != nil {
		t.Errorf("verify of the empty 1-week tier: %v", err)
	}
}
