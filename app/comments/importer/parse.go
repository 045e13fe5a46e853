// Package importer reads comments exported from elsewhere — a Disqus export
// (XML) or a WordPress export (WXR, RSS with wp:comment elements) — and
// stores them as the site's comments: threads matched to posts by URL path
// or slug, replies kept one level deep, spam and deleted comments left out,
// bodies sanitized like every comment. Files are streamed with
// encoding/xml's Decoder, one element at a time, never read whole.
package importer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// Format is a kind of export file.
type Format string

// The formats Parse reads.
const (
	Disqus Format = "disqus"
	WXR    Format = "wxr"
)

// State is what the source says of a comment.
type State int

// States of a comment in its source.
const (
	// Approved: shown in the source.
	Approved State = iota
	// Pending: waiting for moderation in the source (WordPress
	// comment_approved 0); imported held.
	Pending
	// Spam: marked spam in the source; not imported.
	Spam
	// Deleted: deleted or trashed in the source; not imported.
	Deleted
	// NotComment: a pingback or trackback; not imported.
	NotComment
)

// String names the state as the import's report does.
func (s State) String() string {
	switch s {
	case Approved:
		return "approved"
	case Pending:
		return "pending"
	case Spam:
		return "spam"
	case Deleted:
		return "deleted"
	default:
		return "pingback or trackback"
	}
}

// Thread is a page of the old site that comments were written on.
type Thread struct {
	// Key identifies the thread in the file (Disqus dsq:id, WordPress
	// wp:post_id).
	Key string
	// Link is the page's URL on the old site.
	Link string
	// Title is the page's title.
	Title string
	// Slug is the old site's name for the page where it has one (WordPress
	// wp:post_name; Disqus the thread identifier when it looks like one).
	Slug string
	// Line is where the thread starts in the file.
	Line int
}

// Comment is one comment as the file holds it.
type Comment struct {
	// ID identifies the comment in the file; Thread its thread's Key;
	// Parent the ID of the comment it answers, "" for none.
	ID, Thread, Parent string
	// Author is the name shown with it; Email the author's address, when
	// the file has one (not stored: imported comments belong to no reader).
	Author, Email string
	// Body is the comment's text as the file holds it: HTML in Disqus,
	// text with some HTML in WordPress.
	Body string
	// CreatedAt is when it was written.
	CreatedAt time.Time
	// State is what the source says of it.
	State State
	// Line is where the comment starts in the file.
	Line int
}

// Handler receives what Parse reads, in file order. An error it returns
// stops the parse and is returned.
type Handler struct {
	Thread  func(Thread) error
	Comment func(Comment) error
}

// PosError is a problem at a place in the file.
type PosError struct {
	Line, Column int
	Err          error
}

func (e *PosError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e *PosError) Unwrap() error { return e.Err }

// ErrUnknownFormat is returned for a well-formed file that is neither a
// Disqus nor a WordPress export.
var ErrUnknownFormat = errors.New("not a Disqus export (<disqus>) or a WordPress export (<rss> with wp: elements)")

// Parse streams r, a Disqus or WXR export, to h and returns which it was.
// A file that is not XML, is cut short, or is another kind of XML is an
// error naming the line.
func Parse(r io.Reader, h Handler) (Format, error) {
	d := newDecoder(r)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%w: the file holds no XML element", ErrUnknownFormat)
		}
		if err != nil {
			return "", posErr(d, err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case start.Name.Local == "disqus":
			return Disqus, parseDisqus(d, h)
		case start.Name.Local == "rss":
			return WXR, parseWXR(d, h)
		default:
			line, col := d.InputPos()
			return "", &PosError{Line: line, Column: col, Err: fmt.Errorf("%w; the root element is <%s>", ErrUnknownFormat, start.Name.Local)}
		}
	}
}

// newDecoder reads XML in UTF-8, ISO-8859-1 or Windows-1252.
func newDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "iso-8859-1", "latin1", "latin-1":
			return charmap.ISO8859_1.NewDecoder().Reader(in), nil
		case "windows-1252", "cp1252":
			return charmap.Windows1252.NewDecoder().Reader(in), nil
		}
		return nil, fmt.Errorf("the file's encoding %q is not supported (UTF-8, ISO-8859-1 or Windows-1252)", label)
	}
	return d
}

// posErr places err at the decoder's position: a syntax error at its line,
// io.EOF as a file cut short.
func posErr(d *xml.Decoder, err error) error {
	line, col := d.InputPos()
	var syn *xml.SyntaxError
	switch {
	case errors.As(err, &syn) && syn.Msg == "unexpected EOF":
		return &PosError{Line: syn.Line, Err: errors.New("the file ends before its root element is closed (cut short?)")}
	case errors.As(err, &syn):
		return &PosError{Line: syn.Line, Err: fmt.Errorf("malformed XML: %s", syn.Msg)}
	case errors.Is(err, io.EOF):
		return &PosError{Line: line, Column: col, Err: errors.New("the file ends before its root element is closed (cut short?)")}
	}
	var pe *PosError
	if errors.As(err, &pe) {
		return err
	}
	return &PosError{Line: line, Column: col, Err: err}
}

// attr is the value of the attribute named local in any namespace.
func attr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// text reads the character data of the element just started, up to its
// end; an element inside it is an error.
func text(d *xml.Decoder, max int) (string, error) {
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if b.Len()+len(t) > max {
				return "", fmt.Errorf("an element's text is longer than %d bytes", max)
			}
			b.Write(t)
		case xml.StartElement:
			// Markup inside a text element (e.g. HTML not wrapped in
			// CDATA): keep reading it as text would lose it; refuse.
			return "", fmt.Errorf("unexpected <%s> inside a text element (HTML not in CDATA?)", t.Name.Local)
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

// maxText bounds one element's text: a comment of 1 MB is already absurd.
const maxText = 1 << 20
