package analytics

import (
	"testing"
	"time"
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
