package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cron holds the times of the cron role's scheduled tasks. Each is "HH:MM"
// (every day) or "DAY HH:MM" (every week, or every second week for
// Biweekly), or "off".
type Cron struct {
	// Timezone names the zone the times are in, e.g. "UTC" or "Europe/Paris".
	Timezone string
	// TTLCleanup is when expired rows of ttl.db are deleted, daily.
	TTLCleanup string
	// Daily is when the buckets are mirrored to the offsite daily/ tier.
	Daily string
	// Weekly is when daily/ is copied to 1-week/.
	Weekly string
	// Biweekly is when 1-week/ is copied to 2-week/, on even weeks.
	Biweekly string
	// Verify is when every offsite tier is restored into a scratch dir and checked, weekly.
	Verify string
}

// Names of the cron tasks; they key the schedules and the runs in data.db.
const (
	TaskTTLCleanup = "ttl_cleanup"
	TaskDaily      = "daily"
	TaskWeekly     = "weekly"
	TaskBiweekly   = "biweekly"
	TaskVerify     = "verify"
)

// Schedule is when a task is due: at Hour:Minute every day, or on Weekday
// every EveryWeeks weeks. Weeks are counted from Monday 1970-01-05, so a
// biweekly task runs on even weeks of that count. The zero Schedule is off.
type Schedule struct {
	Off        bool
	Weekly     bool
	Weekday    time.Weekday
	Hour       int
	Minute     int
	EveryWeeks int // 1 or 2 when Weekly
	Location   *time.Location
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Schedule returns the parsed schedule of task (one of the Task names).
func (c Cron) Schedule(task string) (Schedule, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		return Schedule{}, fmt.Errorf("unknown time zone %q (e.g. \"UTC\" or \"Europe/Paris\")", c.Timezone)
	}
	switch task {
	case TaskTTLCleanup:
		return ParseSchedule(c.TTLCleanup, 0, loc)
	case TaskDaily:
		return ParseSchedule(c.Daily, 0, loc)
	case TaskWeekly:
		return ParseSchedule(c.Weekly, 1, loc)
	case TaskBiweekly:
		return ParseSchedule(c.Biweekly, 2, loc)
	case TaskVerify:
		return ParseSchedule(c.Verify, 1, loc)
	}
	return Schedule{}, fmt.Errorf("unknown task %q", task)
}

// ParseSchedule reads "HH:MM" when weeks is 0 and "DAY HH:MM" (DAY one of
// sun, mon, ... sat) when weeks is 1 or 2; "off" disables the task.
func ParseSchedule(s string, weeks int, loc *time.Location) (Schedule, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "off" {
		return Schedule{Off: true}, nil
	}
	want := `"HH:MM" such as "03:30"`
	if weeks > 0 {
		want = `"DAY HH:MM" such as "sun 04:00"`
	}
	bad := fmt.Errorf("%q is not %s or \"off\"", s, want)
	sc := Schedule{Location: loc, EveryWeeks: weeks, Weekly: weeks > 0}
	clock := s
	if weeks > 0 {
		day, rest, ok := strings.Cut(s, " ")
		wd, known := weekdays[day]
		if !ok || !known {
			return Schedule{}, bad
		}
		sc.Weekday, clock = wd, strings.TrimSpace(rest)
	}
	hh, mm, ok := strings.Cut(clock, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || h < 0 || h > 23 || m < 0 || m > 59 {
		return Schedule{}, bad
	}
	sc.Hour, sc.Minute = h, m
	return sc, nil
}

// epochMonday starts the week count of biweekly schedules.
var epochMonday = time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)

// Prev returns the latest time the schedule was due at or before t; the
// zero time when it is off.
func (s Schedule) Prev(t time.Time) time.Time {
	return s.walk(t, -1, func(day, lt time.Time) bool { return !day.After(lt) })
}

// Next returns the first time the schedule is due after t; the zero time
// when it is off.
func (s Schedule) Next(t time.Time) time.Time {
	return s.walk(t, 1, func(day, lt time.Time) bool { return day.After(lt) })
}

// walk tries the schedule's time on t's day and the days after it (step 1)
// or before it (step -1), for one period and a little more, and returns the
// first that is due and that ok accepts against t in the schedule's zone.
func (s Schedule) walk(t time.Time, step int, ok func(day, lt time.Time) bool) time.Time {
	if s.Off {
		return time.Time{}
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), s.Hour, s.Minute, 0, 0, loc)
	for range 7*max(s.EveryWeeks, 1) + 2 {
		if ok(day, lt) && s.matches(day) {
			return day
		}
		y, m, d := day.Date()
		day = time.Date(y, m, d+step, s.Hour, s.Minute, 0, 0, loc)
	}
	return time.Time{}
}

func (s Schedule) matches(day time.Time) bool {
	if !s.Weekly {
		return true
	}
	if day.Weekday() != s.Weekday {
		return false
	}
	if s.EveryWeeks <= 1 {
		return true
	}
	y, m, d := day.Date()
	days := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(epochMonday).Hours() / 24)
	return (days/7)%s.EveryWeeks == 0
}

// String is the schedule as written in site.hcl.
func (s Schedule) String() string {
	if s.Off {
		return "off"
	}
	clock := fmt.Sprintf("%02d:%02d", s.Hour, s.Minute)
	if !s.Weekly {
		return "daily " + clock
	}
	day := strings.ToLower(s.Weekday.String()[:3])
	if s.EveryWeeks == 2 {
		return "every second " + day + " " + clock
	}
	return day + " " + clock
}

// validateBackups checks the offsite and cron blocks.
func (c *Config) validateBackups(bad func(key, format string, args ...any) error) error {
	o := &c.Offsite
	if o.Endpoint != "" {
		if err := checkURL(o.Endpoint, "http", "https"); err != nil {
			return bad("offsite.endpoint", "%v", err)
		}
		if o.Bucket == "" {
			return bad("offsite.bucket", "required when offsite.endpoint is set")
		}
	}
	if o.Bucket != "" && (strings.ContainsAny(o.Bucket, "/ ") || len(o.Bucket) < 3 || len(o.Bucket) > 63) {
		return bad("offsite.bucket", "%q is not a bucket name (3-63 characters, no slash or space)", o.Bucket)
	}
	if strings.HasPrefix(o.Prefix, "/") || strings.Contains(o.Prefix, "//") {
		return bad("offsite.prefix", "must be a relative key prefix such as \"site/\", not %q", o.Prefix)
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	if o.Region == "" {
		return bad("offsite.region", "must not be empty")
	}
	if (o.AccessKey == "") != (o.SecretKey == "") {
		return bad("offsite.secret_key", "access_key and secret_key must be set together")
	}
	if _, err := c.Cron.Schedule(TaskDaily); err != nil && strings.HasPrefix(err.Error(), "unknown time zone") {
		return bad("cron.timezone", "%v", err)
	}
	for _, t := range []string{TaskTTLCleanup, TaskDaily, TaskWeekly, TaskBiweekly, TaskVerify} {
		if _, err := c.Cron.Schedule(t); err != nil {
			return bad("cron."+t, "%v", err)
		}
	}
	return nil
}
