package comments_test

import (
	"html"
	"regexp"
	"strings"
	"testing"

	"site/app/comments"
)

var (
	// commentTags are the elements a comment's HTML may hold; commentAttrs
	// the attributes.
	commentTags  = map[string]bool{"p": true, "br": true, "em": true, "strong": true, "code": true, "pre": true, "blockquote": true, "ul": true, "ol": true, "li": true, "a": true}
	commentAttrs = map[string]bool{"href": true, "rel": true, "start": true}
	commentTagRE = regexp.MustCompile(`^<(/?)([a-z][a-z0-9]*)((?: [a-z-]+="[^"<>]*")*)\s*/?>`)
	commentAttRE = regexp.MustCompile(` ([a-z-]+)="([^"<>]*)"`)
	// scriptish are elements that must never reach a page from a
	// comment (text's < is escaped, so any of these is markup); handlerish
	// are attributes that must never be on one.
	scriptish  = regexp.MustCompile(`(?i)<\s*/?\s*(script|style|iframe|object|embed|svg|math|img|form|input)`)
	handlerish = regexp.MustCompile(`(?i)^(on[a-z]*|style)$`)
)

// checkComment fails t unless out is HTML a comment may show: only the
// allowlisted elements and attributes, no script element, no on…=
// handler, no style attribute, every link http, https or mailto with
// rel=comments.LinkRel.
func checkComment(t *testing.T, what, in, out string) {
	t.Helper()
	if m := scriptish.FindString(out); m != "" {
		t.Fatalf("%s(%q) holds %q:\n%s", what, in, m, out)
	}
	for i := 0; i < len(out); i++ {
		if out[i] != '<' {
			continue
		}
		m := commentTagRE.FindStringSubmatch(out[i:])
		if m == nil || !commentTags[m[2]] {
			t.Fatalf("%s(%q): markup not allowed at byte %d: %q\n%s", what, in, i, out[i:min(len(out), i+80)], out)
		}
		rel := false
		for _, a := range commentAttRE.FindAllStringSubmatch(m[3], -1) {
			name, value := a[1], html.UnescapeString(a[2])
			switch {
			case handlerish.MatchString(name):
				t.Fatalf("%s(%q): a handler or style attribute in %s", what, in, m[0])
			case !commentAttrs[name]:
				t.Fatalf("%s(%q): attribute %s=%q on <%s>", what, in, name, value, m[2])
			case name == "href":
				scheme := strings.ToLower(strings.Map(func(r rune) rune {
					if r <= ' ' || r == 0x7f {
						return -1
					}
					return r
				}, value))
				if !strings.HasPrefix(scheme, "http:") && !strings.HasPrefix(scheme, "https:") && !strings.HasPrefix(scheme, "mailto:") {
					t.Fatalf("%s(%q): a link to %q", what, in, value)
				}
			case name == "rel":
				rel = value == comments.LinkRel
			}
		}
		if m[2] == "a" && m[1] == "" && !rel {
			t.Fatalf("%s(%q): a link without rel=%q: %s", what, in, comments.LinkRel, m[0])
		}
		i += len(m[0]) - 1
	}
}

// FuzzCommentRender: whatever a reader writes, the comment's HTML holds
// only the subset's markup — no <script, no on…= handler, no style
// attribute, no javascript: (or any other non-web) link, every link
// marked nofollow ugc noopener — and rendering is deterministic.
func FuzzCommentRender(f *testing.F) {
	for _, s := range []string{
		"Nice post! See https://example.org and *this*:\n\n> quoted\n\n```\ncode <b>\n```\n\n1. one\n2. two\n",
		"<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "[x](JaVaScRiPt&#58;alert(1))",
		"[x](data:text/html;base64,PHNjcmlwdD4=)", "![alt <b>](https://example.org/a.png)", "<a href=\"https://x\" style=\"color:red\" onclick=\"x()\">x</a>",
		"# heading\n\n---\n", "<mailto:a@example.org> www.example.org", "3. third\n4. fourth", "[x](//evil.example/)", "[x](/relative)",
		"<style>*{}</style>", "`<script>`", "*a **b** c*\n\n    indented <i>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 4*comments.DefaultMaxLength {
			return // the form refuses more (MaxLength is in characters, of up to 4 bytes)
		}
		out, err := comments.Render(body)
		if err != nil {
			return
		}
		checkComment(t, "Render", body, out)
		if again, _ := comments.Render(body); again != out {
			t.Fatalf("Render(%q) twice differs:\n%s\n----\n%s", body, out, again)
		}
	})
}

// FuzzCommentSanitize: whatever HTML an import brings (Disqus, WordPress),
// what is stored is the same safe subset, and sanitizing it again keeps
// it safe.
func FuzzCommentSanitize(f *testing.F) {
	for _, s := range []string{
		`<p>Great <b>post</b>, <a href="https://example.org" target="_blank" rel="nofollow">link</a></p>`,
		`<script>alert(1)</script><p onclick="x()">x</p>`, `<a href="javascript:alert(1)">x</a>`, `<a href="jav&#x09;ascript:alert(1)">x</a>`,
		`<img src=x onerror=alert(1)>`, `<p style="color:red">x</p>`, `<svg><script>alert(1)</script></svg>`, `<a href="//evil.example">x</a>`,
		`<ol start="3"><li>x</li></ol><ol start="-1 onload=x"><li>y</li></ol>`, `<iframe src="https://evil.example"></iframe>`,
		`<a href="mailto:a@example.org">m</a><br><br/><pre><code>x &lt; y</code></pre>`, `<<script>script>alert(1)<</script>/script>`,
		`<a href="https://x" <a href="javascript:y">z</a>`, `<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 1<<20 {
			return
		}
		out := comments.Sanitize(in)
		checkComment(t, "Sanitize", in, out)
		checkComment(t, "Sanitize∘Sanitize", in, comments.Sanitize(out))
	})
}
