package importer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
)

// wpNamespace starts the namespace of WordPress's elements (…/export/1.0/,
// 1.1/, 1.2/ by version).
const wpNamespace = "http://wordpress.org/export/"

// isWP reports whether name is the WordPress element local.
func isWP(name xml.Name, local string) bool {
	return name.Local == local && strings.HasPrefix(name.Space, wpNamespace)
}

// parseWXR reads <rss><channel>: each <item> is a thread; its wp:comment
// elements are its comments, handed on after the item's own fields (they
// come last in WordPress's files, but need not).
func parseWXR(d *xml.Decoder, h Handler) error {
	sawChannel := false
	for {
		tok, err := d.Token()
		if err != nil {
			return posErr(d, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if !sawChannel {
				line, _ := d.InputPos()
				return &PosError{Line: line, Err: errors.New("an <rss> file without a <channel>: not a WordPress export")}
			}
			return drain(d)
		case xml.StartElement:
			if t.Name.Local != "channel" {
				if err := d.Skip(); err != nil {
					return posErr(d, err)
				}
				continue
			}
			sawChannel = true
			if err := wxrChannel(d, h); err != nil {
				return err
			}
		}
	}
}

// wxrChannel reads the items of a <channel>.
func wxrChannel(d *xml.Decoder, h Handler) error {
	wordpress := false
	for {
		tok, err := d.Token()
		if err != nil {
			return posErr(d, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if !wordpress {
				line, _ := d.InputPos()
				return &PosError{Line: line, Err: errors.New("an RSS feed without wp: elements: not a WordPress export (WXR)")}
			}
			return nil
		case xml.StartElement:
			if strings.HasPrefix(t.Name.Space, wpNamespace) {
				wordpress = true
			}
			if t.Name.Local != "item" {
				if err := d.Skip(); err != nil {
					return posErr(d, err)
				}
				continue
			}
			line, _ := d.InputPos()
			th, comments, wp, err := wxrItem(d, line)
			if err != nil {
				return posErr(d, err)
			}
			wordpress = wordpress || wp
			if len(comments) == 0 {
				continue // a page or attachment without comments
			}
			if h.Thread != nil {
				if err := h.Thread(th); err != nil {
					return err
				}
			}
			if h.Comment != nil {
				for _, c := range comments {
					if err := h.Comment(c); err != nil {
						return err
					}
				}
			}
		}
	}
}

// wxrItem reads an <item>: the post's id, link, title and slug, and its
// comments (the comments of one post are held until the item ends).
func wxrItem(d *xml.Decoder, line int) (Thread, []Comment, bool, error) {
	th := Thread{Line: line}
	var comments []Comment
	wp := false
	err := children(d, func(e xml.StartElement) error {
		var err error
		if strings.HasPrefix(e.Name.Space, wpNamespace) {
			wp = true
		}
		switch {
		case e.Name.Local == "title" && e.Name.Space == "":
			th.Title, err = text(d, maxText)
		case e.Name.Local == "link" && e.Name.Space == "":
			th.Link, err = text(d, maxText)
		case isWP(e.Name, "post_id"):
			th.Key, err = text(d, 100)
		case isWP(e.Name, "post_name"):
			th.Slug, err = text(d, 1000)
		case isWP(e.Name, "comment"):
			cline, _ := d.InputPos()
			var c Comment
			c, err = wxrComment(d, cline)
			comments = append(comments, c)
		default:
			err = d.Skip()
		}
		return err
	})
	if err != nil {
		return th, nil, wp, err
	}
	th.Key, th.Link, th.Title, th.Slug = strings.TrimSpace(th.Key), strings.TrimSpace(th.Link), strings.TrimSpace(th.Title), strings.TrimSpace(th.Slug)
	if len(comments) > 0 && th.Key == "" {
		return th, nil, wp, errors.New("an <item> with comments but no wp:post_id")
	}
	for i := range comments {
		comments[i].Thread = th.Key
	}
	return th, comments, wp, nil
}

// wxrComment reads a <wp:comment>.
func wxrComment(d *xml.Decoder, line int) (Comment, error) {
	c := Comment{Line: line}
	var approved, kind, date, dateGMT string
	err := children(d, func(e xml.StartElement) error {
		if !strings.HasPrefix(e.Name.Space, wpNamespace) {
			return d.Skip()
		}
		var err error
		switch e.Name.Local {
		case "comment_id":
			c.ID, err = text(d, 100)
		case "comment_parent":
			c.Parent, err = text(d, 100)
		case "comment_author":
			c.Author, err = text(d, 1000)
		case "comment_author_email":
			c.Email, err = text(d, 1000)
		case "comment_content":
			c.Body, err = text(d, maxText)
		case "comment_approved":
			approved, err = text(d, 100)
		case "comment_type":
			kind, err = text(d, 100)
		case "comment_date":
			date, err = text(d, 100)
		case "comment_date_gmt":
			dateGMT, err = text(d, 100)
		default:
			err = d.Skip()
		}
		return err
	})
	if err != nil {
		return c, err
	}
	c.ID, c.Author, c.Email = strings.TrimSpace(c.ID), strings.TrimSpace(c.Author), strings.TrimSpace(c.Email)
	if c.ID == "" {
		return c, errors.New("a <wp:comment> without wp:comment_id")
	}
	if p := strings.TrimSpace(c.Parent); p != "0" {
		c.Parent = p
	} else {
		c.Parent = ""
	}
	// The GMT date when WordPress kept one ("0000-00-00 00:00:00" when it
	// did not), else the site's local date, taken as UTC.
	for _, s := range []string{dateGMT, date} {
		s = strings.TrimSpace(s)
		if s == "" || strings.HasPrefix(s, "0000") {
			continue
		}
		t, err := time.Parse(time.DateTime, s)
		if err != nil {
			return c, fmt.Errorf("comment %s: date %q is not YYYY-MM-DD HH:MM:SS", c.ID, s)
		}
		c.CreatedAt = t.UTC()
		break
	}
	switch kind = strings.TrimSpace(kind); kind {
	case "", "comment":
	default: // pingback, trackback, or a plugin's own kind
		c.State = NotComment
		return c, nil
	}
	switch strings.TrimSpace(approved) {
	case "1", "approve":
		c.State = Approved
	case "spam":
		c.State = Spam
	case "trash", "post-trashed":
		c.State = Deleted
	default: // "0": waiting for moderation
		c.State = Pending
	}
	return c, nil
}
