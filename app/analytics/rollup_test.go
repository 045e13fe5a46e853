package analytics_test

import (
	"fmt"
	"testing"
	"time"

	"site/app/analytics"
	"site/app/jobs"
	"site/internal/testkit"
)

// TestReportRollupsMatchTheDailyOnes: the rollups of the analytics pages
// (views_daily_totals, views_monthly, views_monthly_by) say what the daily
// ones say, summed by day and by month, over views on three days in two
// months and in several transactions.
func TestReportRollupsMatchTheDailyOnes(t *testing.T) {
	t.Parallel()
	db := testkit.DataDB(t)
	days := []time.Time{
		time.Date(2025, 1, 30, 10, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 31, 23, 0, 0, 0, time.UTC),
		time.Date(2025, 2, 1, 0, 30, 0, 0, time.UTC),
	}
	clk := &clock{t: days[0]}
	r := &analytics.Recorder{DB: db.Write, Site: "test", Now: clk.Now, MaxViews: 7}
	n := 0
	for _, day := range days {
		clk.t = day.Add(time.Minute)
		var views []analytics.PageView
		for i := range 20 {
			ua := firefox
			if i%3 == 0 {
				ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
			}
			views = append(views, analytics.PageView{Path: fmt.Sprintf("/p/%d", i%4), UserAgent: ua,
				IP: fmt.Sprintf("192.0.2.%d", i%6), Referrer: fmt.Sprintf("https://ref%d.example/x", i%2), At: day})
			if len(views) == 5 {
				n++
				handle(t, r, job(fmt.Sprintf("j%d", n), views[0]), job(fmt.Sprintf("k%d", n), views[1]),
					jobOf(fmt.Sprintf("m%d", n), views[2:]...))
				views = nil
			}
		}
	}
	if got := scalar(t, db.Read, "SELECT sum(views) FROM views_daily_totals"); got != 60 {
		t.Fatalf("views_daily_totals counts %d views, want 60", got)
	}
	checks := map[string]string{
		"daily totals": `SELECT count(*) FROM views_daily_totals t FULL JOIN
			(SELECT day, sum(views) v, sum(visitors) u FROM views_daily GROUP BY day) d USING (day)
			WHERE t.views IS NOT d.v OR t.visitors IS NOT d.u`,
		"monthly": `SELECT count(*) FROM views_monthly m FULL JOIN
			(SELECT substr(day, 1, 7) month, path, sum(views) v, sum(visitors) u FROM views_daily GROUP BY 1, 2) d USING (month, path)
			WHERE m.views IS NOT d.v OR m.visitors IS NOT d.u`,
		"monthly by": `SELECT count(*) FROM views_monthly_by m FULL JOIN
			(SELECT dim, substr(day, 1, 7) month, value, sum(views) v, sum(visitors) u FROM views_daily_by GROUP BY 1, 2, 3) d USING (dim, month, value)
			WHERE m.views IS NOT d.v OR m.visitors IS NOT d.u`,
	}
	for name, q := range checks {
		if bad := scalar(t, db.Read, q); bad != 0 {
			t.Errorf("%s: %d rows differ from the daily rollups", name, bad)
		}
	}
	if got := scalar(t, db.Read, "SELECT views FROM views_monthly WHERE month = '2025-01' AND path = '/p/0'"); got != 10 {
		t.Errorf("January /p/0 = %d views, want 10", got)
	}
	if got := scalar(t, db.Read, "SELECT views FROM views_monthly_by WHERE dim = 'referrer' AND month = '2025-02' AND value = 'ref1.example'"); got != 10 {
		t.Errorf("February ref1.example = %d views, want 10", got)
	}
	if got := scalar(t, db.Read, "SELECT visitors FROM views_daily_totals WHERE day = '2025-02-01'"); got != 6 {
		t.Errorf("uniques on 1 February = %d, want 6 (six addresses, each with one browser)", got)
	}
}

// jobOf is a page-view job of several views with a fixed id.
func jobOf(id string, views ...analytics.PageView) jobs.Job {
	j := analytics.NewBatchJob(views)
	j.ID = id
	return j
}
