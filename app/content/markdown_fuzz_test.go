package content_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"

	"site/app/content"
)

// library answers Render's picture lookups from memory: every valid key
// under pending/ is an image still waiting for its variants, every other
// valid key one with variants in two formats, so that the fuzzer reaches
// both ways a picture is drawn.
type library struct{}

func (library) Pictures(_ context.Context, keys []string) (map[string]*content.Picture, error) {
	out := map[string]*content.Picture{}
	for _, k := range keys {
		switch {
		case !content.ValidKey(k):
		case strings.HasPrefix(k, "pending/"):
			out[k] = &content.Picture{Key: k, Alt: "waiting <b>"}
		default:
			out[k] = &content.Picture{Key: k, Src: "/media/" + k + "-640.jpg", Width: 640, Height: 480, Alt: `"own" alt`,
				Srcset: "/media/" + k + "-640.jpg 640w", Sources: []content.Source{{Type: "image/webp", Srcset: "/media/" + k + "-640.webp 640w"}}}
		}
	}
	return out, nil
}

// markupTags are the elements the renderer writes; markupAttrs the
// attributes. Anything else in the output came from the source.
var (
	markupTags = set("p", "h1", "h2", "h3", "h4", "h5", "h6", "a", "em", "strong", "del", "code", "pre", "span",
		"ul", "ol", "li", "blockquote", "table", "thead", "tbody", "tr", "th", "td", "input", "sup", "div", "hr", "br",
		"img", "picture", "source")
	markupAttrs = set("href", "src", "alt", "title", "id", "class", "role", "aria-label", "checked", "disabled", "type",
		"start", "align", "loading", "decoding", "width", "height", "srcset", "sizes")
	tagRE  = regexp.MustCompile(`^<(/?)([a-z][a-z0-9]*)((?: [a-z-]+(?:="[^"<>]*")?)*)>`)
	attrRE = regexp.MustCompile(` ([a-z-]+)(?:="([^"<>]*)")?`)
)

func set(items ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range items {
		m[s] = true
	}
	return m
}

// checkMarkup fails t unless every tag of out is one the renderer writes,
// with its own attributes only (no on…= handler, no style), and no link
// or image address runs script.
func checkMarkup(t *testing.T, src, out string) {
	t.Helper()
	const omitted = "<!-- raw HTML omitted -->"
	for i := 0; i < len(out); i++ {
		if out[i] != '<' {
			continue
		}
		if strings.HasPrefix(out[i:], omitted) {
			i += len(omitted) - 1
			continue
		}
		m := tagRE.FindStringSubmatch(out[i:])
		if m == nil {
			t.Fatalf("source %q: markup the renderer does not write at byte %d: %q", src, i, clipAt(out[i:], 80))
		}
		if !markupTags[m[2]] {
			t.Fatalf("source %q: element <%s> in the output:\n%s", src, m[2], out)
		}
		for _, a := range attrRE.FindAllStringSubmatch(m[3], -1) {
			name, value := a[1], html.UnescapeString(a[2])
			if !markupAttrs[name] {
				t.Fatalf("source %q: attribute %s=%q on <%s> in the output:\n%s", src, name, value, m[2], out)
			}
			if (name == "href" || name == "src") && dangerousURL(value, m[2] == "img" && name == "src") {
				t.Fatalf("source %q: %s=%q on <%s>", src, name, value, m[2])
			}
		}
		i += len(m[0]) - 1
	}
}

// dangerousURL reports an address a browser would run as script or that
// reads local files; a data: URL only passes as an image's picture.
func dangerousURL(v string, image bool) bool {
	v = strings.ToLower(strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1 // browsers skip these inside a scheme
		}
		return r
	}, v))
	for _, scheme := range []string{"javascript:", "vbscript:", "file:"} {
		if strings.HasPrefix(v, scheme) {
			return true
		}
	}
	return strings.HasPrefix(v, "data:") && !(image && strings.HasPrefix(v, "data:image/"))
}

func clipAt(s string, n int) string { return s[:min(len(s), n)] }

// FuzzMarkdownRender: whatever the body, the HTML holds only the markup
// the renderer writes (raw HTML is left out: no <script>, no on…=
// handlers, no style attributes, no javascript: addresses), rendering is
// deterministic, and the plain text for search never fails.
func FuzzMarkdownRender(f *testing.F) {
	for _, seed := range []string{
		"# Title\n\nSome *text* with `code`, a [link](https://example.org \"t\") and ~~old~~.\n",
		"| a | b |\n|:--|--:|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\nNote[^1].\n\n[^1]: The footnote.\n",
		"```go\nfunc main() {}\n```\n\n    indented\n\n> quote\n\n1. one\n2. two\n",
		"<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) [y](JaVaScRiPt&#58;alert(1))\n",
		"![a <b>cat</b>](/media/posts/a/cat.jpg) ![wait](/media/pending/b.png \"t\") ![x](/media/../x)\n",
		"<https://example.org> www.example.org foo@example.org [ref]\n\n[ref]: vbscript:msgbox(1)\n",
		"## Same\n## Same\n### <em>x</em> `code`\n",
	} {
		f.Add(seed, false)
	}
	md := content.NewMarkdown()
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, src string, pictures bool) {
		if len(src) > content.MaxBody {
			return
		}
		var pics content.Pictures
		if pictures {
			pics = library{}
		}
		out, err := md.Render(ctx, src, pics)
		if err != nil {
			t.Fatalf("Render(%q): %v", src, err)
		}
		checkMarkup(t, src, out)
		again, err := md.Render(ctx, src, pics)
		if err != nil || again != out {
			t.Fatalf("Render(%q) twice differs:\n%s\n----\n%s (%v)", src, out, again, err)
		}
		if _, err := md.PlainText(src); err != nil {
			t.Fatalf("PlainText(%q): %v", src, err)
		}
	})
}
