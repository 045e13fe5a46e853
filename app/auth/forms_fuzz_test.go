package auth_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"site/app/auth"
	"site/internal/testkit"
)

// FuzzNormalizeAddress: an address is refused, or normalized to one that
// normalizes to itself: a phone number as + and 8 to 15 digits, an email
// address lower-case, at most 254 bytes, with one @ and no space, control
// character, quote or angle bracket (it goes into mail headers and
// database keys).
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{
		" Ada@Example.org ", "+1 (555) 123-4567", "+44.20.7946.0958", "+0123456789", "+12345", "owner at example",
		"\"a@b\"@example.org", "Ada <ada@example.org>", "a@localhost", "a@b.c\r\nBcc: x@y.z", "é@exämple.org", "+１２３４５６７８９",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, phone, err := auth.NormalizeAddress(s)
		if err != nil {
			if addr != "" || phone {
				t.Fatalf("NormalizeAddress(%q) refused (%v) but returned %q, %v", s, err, addr, phone)
			}
			return
		}
		again, phone2, err := auth.NormalizeAddress(addr)
		if err != nil || again != addr || phone2 != phone {
			t.Fatalf("NormalizeAddress(%q) = %q, which normalizes to %q, %v, %v", s, addr, again, phone2, err)
		}
		if len(addr) > 254 || strings.IndexFunc(addr, func(r rune) bool { return r < 0x21 || r == 0x7f || strings.ContainsRune("\"<>", r) }) >= 0 {
			t.Fatalf("NormalizeAddress(%q) = %q", s, addr)
		}
		if phone {
			digits := addr[1:]
			if addr[0] != '+' || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
				t.Fatalf("NormalizeAddress(%q) = phone %q", s, addr)
			}
			return
		}
		if strings.Count(addr, "@") != 1 || addr != strings.ToLower(addr) {
			t.Fatalf("NormalizeAddress(%q) = email %q", s, addr)
		}
	})
}

// signInForms are the sign-in routes that read a form.
var signInForms = []string{"/signin", "/signin/code", "/signin/link"}

// FuzzSignInForms posts arbitrary bodies to the sign-in forms of the shell
// with sign-in mounted, on real SQLite stores (the handlers are where the
// form, the address, the code and the next page are read together).
// Whatever arrives, the answer is a page or a redirect, never a server
// error; a redirect stays on the site; the page holds only the elements
// of the sign-in pages and no inline handler, style attribute or script
// address (what was typed is never echoed as markup).
func FuzzSignInForms(f *testing.F) {
	f.Add(uint8(0), []byte("address=owner%40example.org&next=%2Fadmin"))
	f.Add(uint8(0), []byte("address=%3Cscript%3Ealert(1)%3C%2Fscript%3E&next=javascript%3Aalert(1)"))
	f.Add(uint8(1), []byte("address=owner%40example.org&code=123+456&next=%2F%2Fevil.example%2F"))
	f.Add(uint8(1), []byte("address=%2B15551234567&code=000000&next=%2F%5Cevil.example"))
	f.Add(uint8(2), []byte("token=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGH&next=%2Faccount"))
	f.Add(uint8(2), []byte("token=%00&next=%0D%0ALocation:+x"))
	f.Add(uint8(0), bytes.Repeat([]byte("a"), 5000))
	_, _, ts := testSite(f, false)
	handler := ts.Config.Handler
	// The elements of every sign-in page, from requests a browser makes:
	// a page of the fuzzed forms may hold these and no other.
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/signin", ""}, {"GET", "/signin/link?token=x", ""}, {"POST", "/signin", "address=x"},
		{"POST", "/signin", "address=owner%40example.org"}, {"POST", "/signin/code", "address=owner%40example.org&code=1"},
		{"POST", "/signin/link", "token=x"},
	} {
		r := httptest.NewRequest(req.method, "http://example.org"+req.path, strings.NewReader(req.body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if _, bad := markup.Check(w.Body.String()); bad != "" {
			f.Fatalf("%s %s: %s", req.method, req.path, bad)
		}
	}
	known := markup.Seen()
	var n int
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		n++
		path := signInForms[int(route)%len(signInForms)]
		r := httptest.NewRequest(http.MethodPost, "http://example.org"+path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = fmt.Sprintf("192.0.2.%d:1234", n%250+1) // spread over clients, as the rate limits count per client
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusSeeOther, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		default:
			t.Fatalf("POST %s %q: %d\n%s", path, body, w.Code, w.Body)
		}
		if w.Code == http.StatusSeeOther {
			loc := w.Header().Get("Location")
			u, err := url.Parse(loc)
			if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\r\n") {
				t.Fatalf("POST %s %q: redirect off the site to %q", path, body, loc)
			}
		}
		if tag, bad := markup.Check(w.Body.String()); bad != "" || (tag != "" && !known[tag]) {
			t.Fatalf("POST %s %q: the page holds %s%s:\n%s", path, body, bad, tag, w.Body)
		}
	})
}

// markup checks the pages the fuzzed inputs come back in.
var markup testkit.Markup
