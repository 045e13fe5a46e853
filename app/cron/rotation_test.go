package cron_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"site/app/backup"
	"site/app/backup/backuptest"
	"site/app/config"
	"site/app/cron"
	"site/internal/testkit"
)

// TestTiersRotate drives the scheduler with a simulated clock over three
// weeks. Every day at noon the source gets a new marker and a new object,
// and loses the object of three days before. With the default times
// (biweekly sun 03:00, weekly sun 03:15, daily 03:30) each tier must end up
// holding the state the one below it had: daily from yesterday's noon,
// 1-week the daily of the day before the last Sunday, 2-week the 1-week of
// two weeks before.
func TestTiersRotate(t *testing.T) {
	ctx := context.Background()
	src := backuptest.MustSource(t)
	aws := backuptest.MustAWS(t)
	sc, ac := backuptest.MustS3(t, src), backuptest.MustS3(t, aws)
	data, ttl := testkit.DataDB(t), testkit.TTLDB(t)
	o := &backup.Offsite{Source: src, Target: aws, Bucket: backuptest.OffsiteBucket, Logger: testLogger(t), Progress: time.Hour}
	if err := o.Open(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default().Cron
	cfg.Verify = "off" // verify needs a Litestream replica; the disaster drill covers it
	tasks, err := cron.Table(cfg, cron.Deps{TTL: ttl.Write, Data: data.Write, Offsite: o, ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)} // a Monday
	s := &cron.Scheduler{DB: data.Write, Tasks: tasks, Now: clk.Now, Tick: time.Hour, Logger: testLogger(t)}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	day := func(t time.Time) string { return t.Format("01-02") }
	end := clk.t.AddDate(0, 0, 21)
	for ; clk.t.Before(end); clk.t = clk.t.Add(time.Hour) {
		if clk.t.Hour() == 12 {
			backuptest.Put(t, sc, "public", "marker", day(clk.t))
			backuptest.Put(t, sc, "public", "day-"+day(clk.t), day(clk.t))
			backuptest.Delete(t, sc, "public", "day-"+day(clk.t.AddDate(0, 0, -3)))
		}
		if err := s.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := runs(t, data.Read)
	count := func(task, status string) int {
		n := 0
		for _, r := range got[task] {
			if len(r) >= len(status) && r[:len(status)] == status {
				n++
			}
		}
		return n
	}
	if n := count("daily", "ok"); n != 21 || len(got["daily"]) != 21 {
		t.Errorf("daily runs: %v", got["daily"])
	}
	if n := count("weekly", "ok"); n != 3 || len(got["weekly"]) != 3 {
		t.Errorf("weekly runs: %v", got["weekly"])
	}
	// 03-08 is an even week: its biweekly finds 1-week empty (skipped); 03-22 copies.
	if len(got["biweekly"]) != 2 || count("biweekly", "skipped") != 1 || got["biweekly"][1] != "ok/schedule" {
		t.Errorf("biweekly runs: %v", got["biweekly"])
	}
	for _, c := range []struct {
		tier, marker string
		days         []string
	}{
		{backup.TierDaily, "03-21", []string{"03-19", "03-20", "03-21"}},
		{backup.TierWeekly, "03-20", []string{"03-18", "03-19", "03-20"}},
		{backup.TierBiweekly, "03-13", []string{"03-11", "03-12", "03-13"}},
	} {
		if m, _ := backuptest.Get(t, ac, backuptest.OffsiteBucket, c.tier+"/public/marker"); m != c.marker {
			t.Errorf("%s marker %q, want %q", c.tier, m, c.marker)
		}
		want := []string{"public/marker"}
		for _, d := range c.days {
			want = append(want, "public/day-"+d)
		}
		slices.Sort(want)
		if keys := backuptest.Keys(t, ac, backuptest.OffsiteBucket, c.tier+"/"); !slices.Equal(keys, want) {
			t.Errorf("%s holds %v, want %v", c.tier, keys, want)
		}
	}
	var copied, bytes int64
	if err := data.Read.QueryRow(`SELECT sum(objects_copied), sum(bytes_copied) FROM cron_runs WHERE task = 'daily'`).Scan(&copied, &bytes); err != nil {
		t.Fatal(err)
	}
	t.Logf("21 daily runs copied %d objects, %d bytes", copied, bytes)
	if copied != 20*2 { // each day a new marker and a new day object; the first day had nothing yet
		t.Errorf("daily runs copied %d objects, want %d", copied, 20*2)
	}
}
