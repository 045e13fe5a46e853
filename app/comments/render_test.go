package comments_test

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"site/app/comments"
)

// TestRenderSubset: the Markdown subset renders; everything else stays text
// or goes; links get the rel and only safe schemes.
func TestRenderSubset(t *testing.T) {
	rel := `rel="` + comments.LinkRel + `" `
	for _, c := range []struct{ in, want string }{
		{"Hello *you* and **all**", "<p>Hello <em>you</em> and <strong>all</strong></p>"},
		{"a `b<c>` d", "<p>a <code>b&lt;c&gt;</code> d</p>"},
		{"```go\nx := 1 < 2\n```", "<pre><code>x := 1 &lt; 2\n</code></pre>"},
		{"- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"},
		{"3. three\n4. four", "<ol start=\"3\">\n<li>three</li>\n<li>four</li>\n</ol>"},
		{"> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"},
		{"[site](https://example.org/a?b=1&c=2)", `<p><a ` + rel + `href="https://example.org/a?b=1&amp;c=2">site</a></p>`},
		{"see https://example.org now", `<p>see <a ` + rel + `href="https://example.org">https://example.org</a> now</p>`},
		{"<mailto:ada@example.org>", `<p><a ` + rel + `href="mailto:ada@example.org">mailto:ada@example.org</a></p>`},
		{"# Not a heading", "<p># Not a heading</p>"},
		{"---", "<p>---</p>"},
		{"![alt text](https://example.org/x.png)", "<p>alt text</p>"},
		{"<b>raw</b> html", "<p>&lt;b&gt;raw&lt;/b&gt; html</p>"},
		{"<div>\nblock\n</div>", "<p>&lt;div&gt;\nblock\n&lt;/div&gt;</p>"},
		{"[x](javascript:alert(1))", "<p>x</p>"},
		{"[x](/relative)", "<p>x</p>"},
		{"[x](ftp://example.org)", "<p>x</p>"},
	} {
		got, err := comments.Render(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("Render(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestSanitizeHTML: HTML from elsewhere (an import) keeps only the subset.
func TestSanitizeHTML(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`<p class="x" style="color:red" onclick="f()">hi</p>`, "<p>hi</p>"},
		{`<a href="https://e.org" rel="dofollow" target="_blank">e</a>`, `<a rel="nofollow ugc noopener" href="https://e.org">e</a>`},
		{`<a>no href</a>`, "no href"},
		{`<img src="https://e.org/x.png" alt="pic">`, ""},
		{`<script>alert(1)</script>after`, "after"},
		{`<style>p{}</style><iframe src="https://e.org"></iframe>x`, "x"},
		{`<h1>Title</h1><table><tr><td>cell</td></tr></table>`, "Titlecell"},
	} {
		if got := comments.Sanitize(c.in); got != c.want {
			t.Errorf("Sanitize(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// xssPayloads reads testdata/xss.txt.
func xssPayloads(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open("testdata/xss.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "--- ") {
			continue
		}
		out = append(out, strings.ReplaceAll(line, `\n`, "\n"))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// dangerous finds what must never be in a comment's HTML: an element
// beyond the subset, an attribute beyond href and start, a link that is
// not http, https or mailto.
var (
	tagRE  = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`)
	attrRE = regexp.MustCompile(`\s([a-zA-Z-]+)="([^"]*)"`)
	okTags = map[string]bool{"p": true, "br": true, "em": true, "strong": true, "code": true, "pre": true,
		"blockquote": true, "ul": true, "ol": true, "li": true, "a": true}
)

func dangerous(html string) string {
	for _, m := range tagRE.FindAllStringSubmatch(html, -1) {
		if !okTags[m[2]] {
			return "element " + m[0]
		}
		for _, a := range attrRE.FindAllStringSubmatch(m[3], -1) {
			switch {
			case m[2] == "a" && a[1] == "href":
				if !strings.HasPrefix(a[2], "https://") && !strings.HasPrefix(a[2], "http://") && !strings.HasPrefix(a[2], "mailto:") {
					return "link " + a[2]
				}
			case m[2] == "a" && a[1] == "rel" && a[2] == comments.LinkRel:
			case m[2] == "ol" && a[1] == "start":
			default:
				return "attribute " + a[0] + " on " + m[2]
			}
		}
		if rest := strings.TrimSpace(attrRE.ReplaceAllString(m[3], "")); rest != "" && rest != "/" {
			return "unquoted attribute in " + m[0]
		}
	}
	return ""
}

// TestXSSCorpusRendersSafeHTML: every payload of the corpus renders to HTML
// with only the subset's elements and attributes (the browser test runs
// them in Chromium).
func TestXSSCorpusRendersSafeHTML(t *testing.T) {
	payloads := xssPayloads(t)
	if len(payloads) < 100 {
		t.Fatalf("the corpus has %d payloads, want at least 100", len(payloads))
	}
	for _, p := range payloads {
		html, err := comments.Render(p)
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		if bad := dangerous(html); bad != "" {
			t.Errorf("%q rendered %q: %s", p, html, bad)
		}
		if again := comments.Sanitize(html); again != html {
			t.Errorf("%q: sanitizing the stored HTML again changes it:\n%q\n%q", p, html, again)
		}
	}
}
