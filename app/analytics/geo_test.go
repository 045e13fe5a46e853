package analytics_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"site/app/analytics"
	"site/internal/testkit"
)

// MustGeoDB writes a tiny MaxMind-format city database: 81.2.69.0/24 is
// London, GB; 2001:db8::/32 is DE without a city.
func MustGeoDB(tb testing.TB) string {
	tb.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		tb.Fatal(err)
	}
	insert := func(cidr string, rec mmdbtype.Map) {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := w.Insert(n, rec); err != nil {
			tb.Fatal(err)
		}
	}
	insert("81.2.69.0/24", mmdbtype.Map{
		"country": mmdbtype.Map{"iso_code": mmdbtype.String("GB")},
		"city":    mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("London")}},
	})
	insert("2001:db8::/32", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")}})
	path := filepath.Join(tb.TempDir(), "geo.mmdb")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestGeo(t *testing.T) {
	t.Parallel()
	geo, err := analytics.OpenGeo(MustGeoDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer geo.Close()
	for addr, want := range map[string][2]string{
		"81.2.69.142":      {"GB", "London"},
		"2001:db8::1":      {"DE", ""},
		"192.0.2.1":        {"unknown", ""},
		"::ffff:81.2.69.1": {"GB", "London"},
	} {
		a := netip.MustParseAddr(addr).Unmap()
		if c, city := geo.Locate(a); c != want[0] || city != want[1] {
			t.Errorf("Locate(%s) = %q %q, want %q %q", addr, c, city, want[0], want[1])
		}
	}

	// Through the recorder: with the database and without one.
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, g := range []*analytics.Geo{geo, nil} {
		db := testkit.DataDB(t)
		r := &analytics.Recorder{DB: db.Write, Geo: g}
		handle(t, r, job("g", analytics.PageView{Path: "/", UserAgent: firefox, IP: "81.2.69.142", At: at}))
		want := "GB"
		if g == nil {
			want = "unknown"
		}
		if c := text(t, db.Read, "SELECT country FROM page_views"); c != want {
			t.Errorf("stored country %q, want %q", c, want)
		}
	}
	if g, err := analytics.OpenGeo(""); err != nil || g == nil {
		t.Errorf("OpenGeo(\"\") = %v, %v; want a Geo without a database", g, err)
	}
	if _, err := analytics.OpenGeo(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("OpenGeo of a missing file succeeded")
	}
}
