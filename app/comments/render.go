package comments

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// LinkRel is the rel attribute of every link in a comment: search engines
// give it no weight (nofollow, ugc) and the page it opens gets no handle on
// this one (noopener).
const LinkRel = "nofollow ugc noopener"

// markdown renders the subset comments use: paragraphs, emphasis, strong,
// code spans and blocks, links (with bare URLs linked), lists and block
// quotes. Headings, rules and raw HTML are not parsed (their text stays
// text), raw HTML is never rendered, and an image shows as its alt text.
var markdown = goldmark.New(
	goldmark.WithParser(parser.NewParser(
		parser.WithBlockParsers(
			util.Prioritized(parser.NewListParser(), 300),
			util.Prioritized(parser.NewListItemParser(), 400),
			util.Prioritized(parser.NewCodeBlockParser(), 500),
			util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
			util.Prioritized(parser.NewBlockquoteParser(), 800),
			util.Prioritized(parser.NewParagraphParser(), 1000),
		),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewCodeSpanParser(), 100),
			util.Prioritized(parser.NewLinkParser(), 200),
			util.Prioritized(parser.NewAutoLinkParser(), 300),
			util.Prioritized(parser.NewEmphasisParser(), 500),
		),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
	)),
	goldmark.WithExtensions(extension.Linkify),
	goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(imageAsText{}, 100))),
)

// imageAsText renders an image as its alt text: comments show no images.
type imageAsText struct{}

// RegisterFuncs renders ast.KindImage as nothing but its children (the
// alt text).
func (imageAsText) RegisterFuncs(r renderer.NodeRendererFuncRegisterer) {
	r.Register(ast.KindImage, func(util.BufWriter, []byte, ast.Node, bool) (ast.WalkStatus, error) {
		return ast.WalkContinue, nil
	})
}

// policy is the allowlist every comment's HTML passes, whatever made it
// (the Markdown above, or an importer's HTML): the subset's elements, links
// to http, https and mailto only, ordered lists' start; nothing else.
var policy = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,6}$`)).OnElements("ol")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	return p
}()

// MaxHTML bounds the rendered HTML of one comment (a body at the size cap
// renders to a few times its size at most).
const MaxHTML = 64 << 10

// Render turns a comment's Markdown into the sanitized HTML readers see.
func Render(body string) (string, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(body), &buf); err != nil {
		return "", fmt.Errorf("comments: render: %w", err)
	}
	return Sanitize(buf.String()), nil
}

// Sanitize passes html through the comments' allowlist and gives every link
// rel=LinkRel. Its result is safe to insert in a page as is.
func Sanitize(html string) string {
	out := policy.Sanitize(html)
	// After the policy every "<a " starts a link element with an href
	// (text '<' is escaped and a link without href is dropped), and no rel
	// is left on it.
	return strings.TrimSpace(strings.ReplaceAll(out, "<a ", `<a rel="`+LinkRel+`" `))
}
