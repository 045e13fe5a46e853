package content

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"strings"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/yuin/goldmark"
	highlighting "github.com/yuin/goldmark-highlighting/v2"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// MediaPrefix is the URL path under which the site serves image variants;
// an image in Markdown whose address is MediaPrefix + an image key is a
// known image, drawn with its responsive variants.
const MediaPrefix = "/media/"

// Markdown renders entry bodies: CommonMark with GFM tables,
// strikethrough, autolinks and task lists, footnotes, headings with ids and
// anchor links, code highlighted by chroma with CSS classes (see
// HighlightCSS). Raw HTML in the source is left out, and links with
// dangerous schemes are dropped, so a body cannot inject script. A table
// column's alignment is an align attribute, not a style attribute, which
// the site's Content-Security-Policy (style-src 'self') would ignore.
type Markdown struct {
	md goldmark.Markdown
}

// NewMarkdown returns a ready Markdown renderer; it is safe for concurrent use.
func NewMarkdown() *Markdown {
	md := goldmark.New(
		goldmark.WithExtensions(
			// extension.GFM, with the table's alignment as attributes.
			extension.Linkify,
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Strikethrough,
			extension.TaskList,
			extension.Footnote,
			highlighting.NewHighlighting(
				highlighting.WithFormatOptions(chromahtml.WithClasses(true)),
				highlighting.WithGuessLanguage(false),
			),
		),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(nodeRenderer{}, 100))),
	)
	return &Markdown{md: md}
}

// Pictures finds the images a body shows, by key; Store.Pictures is one.
type Pictures interface {
	Pictures(ctx context.Context, keys []string) (map[string]*Picture, error)
}

// Render turns Markdown into HTML. Images under MediaPrefix are looked up in
// pics (which may be nil) and drawn with srcset, sizes, width and height.
func (m *Markdown) Render(ctx context.Context, src string, pics Pictures) (string, error) {
	source := []byte(src)
	doc := m.md.Parser().Parse(text.NewReader(source))
	if err := resolveImages(ctx, doc, source, pics); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	buf.Grow(len(src) * 3 / 2)
	if err := m.md.Renderer().Render(&buf, source, doc); err != nil {
		return "", fmt.Errorf("render markdown: %w", err)
	}
	return buf.String(), nil
}

// PlainText returns the words of a Markdown body without markup, for search.
func (m *Markdown) PlainText(src string) (string, error) {
	source := []byte(src)
	doc := m.md.Parser().Parse(text.NewReader(source))
	var b strings.Builder
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			if n.Type() == ast.TypeBlock {
				b.WriteByte('\n')
			}
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Text:
			b.Write(n.Value(source))
			if n.SoftLineBreak() || n.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(n.Value)
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			lines := n.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				b.Write(seg.Value(source))
			}
		case *ast.AutoLink:
			b.Write(n.Label(source))
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String()), err
}

// picture replaces an image whose address is a known media key.
type picture struct {
	ast.BaseInline
	pic *Picture
	alt string
}

var kindPicture = ast.NewNodeKind("Picture")

func (n *picture) Kind() ast.NodeKind { return kindPicture }

func (n *picture) Dump(source []byte, level int) { ast.DumpHelper(n, source, level, nil, nil) }

// resolveImages swaps each image under MediaPrefix for a picture node.
func resolveImages(ctx context.Context, doc ast.Node, source []byte, pics Pictures) error {
	if pics == nil {
		return nil
	}
	var imgs []*ast.Image
	var keys []string
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if img, ok := n.(*ast.Image); ok && entering {
			if key, ok := strings.CutPrefix(string(img.Destination), MediaPrefix); ok {
				imgs = append(imgs, img)
				keys = append(keys, key)
			}
		}
		return ast.WalkContinue, nil
	})
	if len(keys) == 0 {
		return nil
	}
	found, err := pics.Pictures(ctx, keys)
	if err != nil {
		return err
	}
	for i, img := range imgs {
		p := found[keys[i]]
		if p == nil {
			continue
		}
		alt := altText(img, source)
		img.Parent().ReplaceChild(img.Parent(), img, &picture{pic: p, alt: alt})
	}
	return nil
}

func altText(n ast.Node, source []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := c.(*ast.Text); ok && entering {
			b.Write(t.Value(source))
		} else if s, ok := c.(*ast.String); ok && entering {
			b.Write(s.Value)
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// nodeRenderer draws headings with anchor links and pictures.
type nodeRenderer struct{}

func (nodeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHeading, renderHeading)
	reg.Register(kindPicture, renderPicture)
}

func renderHeading(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Heading)
	id, _ := n.AttributeString("id")
	idb, _ := id.([]byte)
	if entering {
		fmt.Fprintf(w, "<h%d", n.Level)
		if len(idb) > 0 {
			fmt.Fprintf(w, ` id="%s"`, html.EscapeString(string(idb)))
		}
		_ = w.WriteByte('>')
		return ast.WalkContinue, nil
	}
	if len(idb) > 0 && n.Level > 1 {
		fmt.Fprintf(w, ` <a class="anchor" href="#%s" aria-label="Link to this section">#</a>`, html.EscapeString(string(idb)))
	}
	fmt.Fprintf(w, "</h%d>\n", n.Level)
	return ast.WalkContinue, nil
}

func renderPicture(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		n := node.(*picture)
		_, _ = w.WriteString(n.pic.HTML(n.alt, SizesBody))
	}
	return ast.WalkSkipChildren, nil
}
