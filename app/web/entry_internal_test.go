package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEntryForOneRequest: an entry sent once is compressed only in the
// encoding its request takes; an entry for the cache in both.
func TestEntryForOneRequest(t *testing.T) {
	body := []byte(strings.Repeat("<p>a page worth compressing</p>", 200))
	for _, c := range []struct {
		accept string
		br, gz bool
	}{
		{"gzip, deflate, br", true, false},
		{"gzip", false, true},
		{"br;q=0, gzip", false, true},
		{"", false, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", c.accept)
		e := newEntryFor(r, 200, "text/html; charset=utf-8", "private, no-store", body, true)
		if (e.br != nil) != c.br || (e.gz != nil) != c.gz {
			t.Errorf("Accept-Encoding %q: br %v gzip %v, want br %v gzip %v", c.accept, e.br != nil, e.gz != nil, c.br, c.gz)
		}
		if got := encoding(r, e); (got == "br") != c.br || (got == "gzip") != c.gz {
			t.Errorf("Accept-Encoding %q: sent as %q", c.accept, got)
		}
	}
	if e := newEntry(200, "text/html; charset=utf-8", "no-cache", body, true); e.br == nil || e.gz == nil {
		t.Error("an entry for the cache is not in both encodings")
	}
}
