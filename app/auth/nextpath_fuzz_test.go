package auth

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzNextPath: the page to go to after signing in is either none or a
// path on this site: resolved against the site's address it keeps the
// site's scheme and host (no open redirect through //host, /\host, a
// scheme, or control characters a browser strips), and it is its own
// clean form.
func FuzzNextPath(f *testing.F) {
	for _, s := range []string{
		"/admin", "/admin/posts?status=draft&q=a%20b", "//evil.example/x", "/\\evil.example", "https://evil.example/",
		"/%2F%2Fevil.example", "/a/../../b", "/\t/evil.example", "javascript:alert(1)", "/a#frag", "/caf%C3%A9", "/a?next=//x",
		"/%0d%0aLocation:%20x", "/./admin", "",
	} {
		f.Add(s)
	}
	site, _ := url.Parse("https://site.example/signin?next=x")
	f.Fuzz(func(t *testing.T, v string) {
		next := nextPath(v)
		if next == "" {
			return
		}
		if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
			strings.IndexFunc(next, func(r rune) bool { return r < 0x21 || r == 0x7f || r == '\\' }) >= 0 {
			t.Fatalf("nextPath(%q) = %q", v, next)
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatalf("nextPath(%q) = %q, which does not parse: %v", v, next, err)
		}
		if to := site.ResolveReference(u); to.Scheme != site.Scheme || to.Host != site.Host {
			t.Fatalf("nextPath(%q) = %q leads to %s", v, next, to)
		}
		if again := nextPath(next); again != next {
			t.Fatalf("nextPath(%q) = %q, and nextPath of that = %q", v, next, again)
		}
	})
}
