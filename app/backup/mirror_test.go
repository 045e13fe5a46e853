package backup_test

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"site/app/backup"
	"site/app/backup/backuptest"
)

func TestMain(m *testing.M) { os.Exit(backuptest.Main(m)) }

// newOffsite returns an open Offsite from src to the "AWS" server aws,
// with small parts so that multipart paths run.
func newOffsite(t *testing.T, src, aws backup.Endpoint) *backup.Offsite {
	t.Helper()
	o := &backup.Offsite{
		Source: src, Target: aws, Bucket: backuptest.OffsiteBucket, Prefix: "site/",
		PartSize: 5 << 20, CopyPartSize: 5 << 20,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if err := o.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

func wantStats(t *testing.T, what string, got backup.Stats, copied, bytes, deleted int64) {
	t.Helper()
	if got.Copied != copied || got.Bytes != bytes || got.Deleted != deleted || got.Failed != 0 {
		t.Errorf("%s: %+v; want %d copied, %d bytes, %d deleted", what, got, copied, bytes, deleted)
	}
}

// TestIncremental: the first run copies everything, a run with no change
// copies 0 bytes, one changed object is the one copied, one deleted is
// removed from the tier; tier-to-tier promotion is incremental too.
func TestIncremental(t *testing.T) {
	ctx := context.Background()
	src := backuptest.MustSource(t)
	aws := backuptest.MustAWS(t)
	sc, ac := backuptest.MustS3(t, src), backuptest.MustS3(t, aws)
	big := strings.Repeat("0123456789abcdef", 12<<20/16) // 12 MiB: three parts
	files := map[string]string{
		"public/index.txt":        "hello",
		"public/img/photo 1.jpg":  "jpeg bytes",
		"private/originals/x.raw": "raw bytes",
		"backup/data.db/ltx/0001": "ltx",
		"private/big.bin":         big,
	}
	var total int64
	for k, v := range files {
		b, key, _ := strings.Cut(k, "/")
		backuptest.Put(t, sc, b, key, v)
		total += int64(len(v))
	}
	o := newOffsite(t, src, aws)

	st, err := o.Daily(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, "first run", st, int64(len(files)), total, 0)
	for k, v := range files {
		if got, ok := backuptest.Get(t, ac, backuptest.OffsiteBucket, "site/daily/"+k); !ok || got != v {
			t.Errorf("daily/%s: %d bytes, ok %v; want %d bytes", k, len(got), ok, len(v))
		}
	}

	st, err = o.Daily(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, "no change", st, 0, 0, 0)
	if st.Checked != int64(len(files)) {
		t.Errorf("no change: checked %d, want %d", st.Checked, len(files))
	}

	backuptest.Put(t, sc, "public", "index.txt", "hello, world")
	st, err = o.Daily(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, "one changed", st, 1, int64(len("hello, world")), 0)
	if got, _ := backuptest.Get(t, ac, backuptest.OffsiteBucket, "site/daily/public/index.txt"); got != "hello, world" {
		t.Errorf("changed object in the tier: %q", got)
	}

	backuptest.Delete(t, sc, "private", "originals/x.raw")
	st, err = o.Daily(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, "one deleted", st, 0, 0, 1)
	keys := backuptest.Keys(t, ac, backuptest.OffsiteBucket, "site/daily/")
	if slices.Contains(keys, "private/originals/x.raw") || len(keys) != len(files)-1 {
		t.Errorf("daily tier after a delete: %q", keys)
	}

	// daily → 1-week, server-side (the big object by UploadPartCopy).
	st, err = o.Promote(ctx, backup.TierDaily, backup.TierWeekly)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, "first promote", st, int64(len(files)-1), total-int64(len("hello")+len("raw bytes"))+int64(len("hello, world")), 0)
	if got, _ := backuptest.Get(t, ac, backuptest.OffsiteBucket, "site/1-week/private/big.bin"); got != big {
		t.Errorf("1-week/private/big.bin: %d bytes, want %d", len(got), len(big))
	}
	st, err = o.Promote(ctx, backup.TierDaily, backup.TierWeekly)
	if err != nil {
		t.Fatal(err)
	}
	wantStats(t, "promote without change", st, 0, 0, 0)
}
