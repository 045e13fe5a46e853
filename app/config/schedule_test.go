package config_test

import (
	"testing"
	"time"

	"site/app/config"
)

// TestSchedulePrevNext checks the due times of daily, weekly and biweekly
// schedules around their slots.
func TestSchedulePrevNext(t *testing.T) {
	utc := time.UTC
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	daily, _ := config.ParseSchedule("03:30", 0, utc)
	weekly, _ := config.ParseSchedule("sun 04:00", 1, utc)
	biweekly, _ := config.ParseSchedule("sun 05:00", 2, utc)
	cases := []struct {
		name       string
		s          config.Schedule
		now        string
		prev, next string
	}{
		{"daily before slot", daily, "2026-03-10 03:29", "2026-03-09 03:30", "2026-03-10 03:30"},
		{"daily at slot", daily, "2026-03-10 03:30", "2026-03-10 03:30", "2026-03-11 03:30"},
		{"weekly midweek", weekly, "2026-03-11 12:00", "2026-03-08 04:00", "2026-03-15 04:00"},
		// 2026-03-08 is in an even week counted from 1970-01-05, 2026-03-15 in an odd one.
		{"biweekly", biweekly, "2026-03-16 00:00", "2026-03-08 05:00", "2026-03-22 05:00"},
		{"biweekly on its day", biweekly, "2026-03-22 05:00", "2026-03-22 05:00", "2026-04-05 05:00"},
	}
	for _, c := range cases {
		if got := c.s.Prev(at(c.now)); !got.Equal(at(c.prev)) {
			t.Errorf("%s: Prev(%s) = %s, want %s", c.name, c.now, got, c.prev)
		}
		if got := c.s.Next(at(c.now)); !got.Equal(at(c.next)) {
			t.Errorf("%s: Next(%s) = %s, want %s", c.name, c.now, got, c.next)
		}
	}
	off, _ := config.ParseSchedule("off", 1, utc)
	if !off.Prev(at("2026-03-10 00:00")).IsZero() || !off.Next(at("2026-03-10 00:00")).IsZero() {
		t.Error("an off schedule is due")
	}
}
