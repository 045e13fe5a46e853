package analytics

import (
	"testing"
	"time"
	"unsafe"
)

// TestDayNamesMatchDayOf walks times across midnights (also before 1970
// and in other zones) and finds the remembered day always dayOf's.
func TestDayNamesMatchDayOf(t *testing.T) {
	t.Parallel()
	var d dayNames
	zone := time.FixedZone("UTC-7", -7*3600)
	for _, start := range []time.Time{
		time.Date(2025, 3, 1, 22, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 22, 0, 0, 0, time.UTC),
		time.Date(2025, 3, 1, 15, 0, 0, 0, zone),
	} {
		for step := range 300 {
			at := start.Add(time.Duration(step) * 97 * time.Second)
			if got, want := d.of(at), dayOf(at); got != want {
				t.Fatalf("days.of(%s) = %s, want %s", at, got, want)
			}
		}
	}
}

// TestAgentCacheKeepsNoBatch: a decoded batch's strings are slices of its
// payload, so the agent cache must keep copies, or every cached user agent
// (and a generic bot's name cut from it) would keep a whole batch alive.
func TestAgentCacheKeepsNoBatch(t *testing.T) {
	t.Parallel()
	views, err := decodeBatch(NewBatchJob([]PageView{
		{Path: "/", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		{Path: "/", UserAgent: "ExampleBot/1.0 (+https://bot.example/)"},
	}).Data)
	if err != nil {
		t.Fatal(err)
	}
	var c agentCache
	for _, v := range views {
		a := c.parse(v.UserAgent)
		if a.Bot != "" && inside(a.Bot, v.UserAgent) {
			t.Errorf("bot name %q shares the payload's memory", a.Bot)
		}
	}
	for key := range c.m {
		for _, v := range views {
			if inside(key, v.UserAgent) {
				t.Errorf("cached key %q shares the payload's memory", key)
			}
		}
	}
}

// inside reports whether s lies in the memory of outer.
func inside(s, outer string) bool {
	p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(outer)))
	return p >= lo && p < lo+uintptr(len(outer))
}
