package importer

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzFrontMatter: whatever a Markdown file holds, splitting off its front
// matter either fails with an error or returns a body that is the end of
// the file as written (nothing invented, nothing of the body lost when
// there is no front matter), the same with CRLF line ends as with LF, and
// the fields the site reads are clean: tags trimmed and not empty, the type
// lower-case, every date in UTC.
func FuzzFrontMatter(f *testing.F) {
	for _, seed := range []string{
		"---\ntitle: \"Hello, world\"\ndate: 2024-03-01T09:30:00Z\nlastmod: 2024-03-02\ntags: [Go, \"Web Dev\"]\n---\n\nBody.\n",
		"+++\ntitle = \"Second thoughts\"\ndate = 2024-04-10\ntags = [\"Go\"]\ndraft = true\n+++\n\nNot ready yet.\n",
		"+++\ndate = 2024-04-10T08:00:00\npublishDate = 1979-05-27T07:32:00-08:00\n[cover]\nimage = \"c.png\"\n+++\n",
		"---\ntags: a, b ,, c\ndraft: \"yes\"\npublished: false\nimages: [x.png]\ntype: Page\n---\n",
		"---\ndate: not a date\nupdated: 12\n---\nx", "---\n---\n", "---", "+++\n+++", "---\nopen: [\n", "\xef\xbb\xbf---\r\ntitle: bom\r\n---\r\nbody",
		"no front matter\n---\n", "---\na: &a [*a, *a]\n---\n", "---\n- a list\n---\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, body, err := splitFrontMatter(src)
		if err != nil {
			if m != nil || body != nil {
				t.Fatalf("split(%q) failed (%v) but returned %v, %q", src, err, m, body)
			}
			return
		}
		if m == nil {
			t.Fatalf("split(%q): nil map without an error", src)
		}
		written := bytes.ReplaceAll(bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")), []byte("\r\n"), []byte("\n"))
		if !bytes.HasSuffix(written, body) {
			t.Fatalf("split(%q): body %q is not the end of the file", src, body)
		}
		if !bytes.HasPrefix(written, []byte("---\n")) && !bytes.HasPrefix(written, []byte("+++\n")) &&
			(len(m) != 0 || !bytes.Equal(body, written)) {
			t.Fatalf("split(%q) without front matter: %v, body %q", src, m, body)
		}
		if !bytes.Contains(src, []byte("\r")) {
			crlf := bytes.ReplaceAll(src, []byte("\n"), []byte("\r\n"))
			m2, body2, err := splitFrontMatter(crlf)
			if err != nil || fmt.Sprint(m2) != fmt.Sprint(m) || !bytes.Equal(body2, body) {
				t.Fatalf("split(%q) with CRLF differs: %v %q %v; with LF: %v %q", src, m2, body2, err, m, body)
			}
		}
		fm, _ := decodeFrontMatter(m)
		for _, tag := range fm.Tags {
			if tag == "" || tag != strings.TrimSpace(tag) {
				t.Fatalf("split(%q): tag %q", src, tag)
			}
		}
		if fm.Type != strings.ToLower(fm.Type) {
			t.Fatalf("split(%q): type %q is not lower-case", src, fm.Type)
		}
		for name, d := range map[string]time.Time{"date": fm.Date, "updated": fm.Updated, "publishDate": fm.PublishDate} {
			if !d.IsZero() && d.Location() != time.UTC {
				t.Fatalf("split(%q): %s %v is not in UTC", src, name, d)
			}
		}
		if _, ok := m["draft"]; ok && !fm.HasDraft {
			t.Fatalf("split(%q): a draft field that does not count", src)
		}
		again, _ := decodeFrontMatter(m)
		if fmt.Sprint(again) != fmt.Sprint(fm) {
			t.Fatalf("split(%q): decoded twice differs: %+v, %+v", src, fm, again)
		}
	})
}
