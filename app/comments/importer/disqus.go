package importer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// parseDisqus reads the children of <disqus>: <thread dsq:id> elements (the
// pages) and <post dsq:id> elements (the comments), each pointing at its
// thread and maybe its parent by dsq:id. Categories and anything else are
// skipped.
func parseDisqus(d *xml.Decoder, h Handler) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return posErr(d, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return drain(d)
		case xml.StartElement:
			line, _ := d.InputPos()
			switch t.Name.Local {
			case "thread":
				th, err := disqusThread(d, t, line)
				if err != nil {
					return posErr(d, err)
				}
				if h.Thread != nil {
					if err := h.Thread(th); err != nil {
						return err
					}
				}
			case "post":
				c, err := disqusPost(d, t, line)
				if err != nil {
					return posErr(d, err)
				}
				if h.Comment != nil {
					if err := h.Comment(c); err != nil {
						return err
					}
				}
			default:
				if err := d.Skip(); err != nil {
					return posErr(d, err)
				}
			}
		}
	}
}

// drain reads what follows the root element: comments and white space
// only; a second root or text is malformed.
func drain(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return posErr(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := d.InputPos()
			return &PosError{Line: line, Err: fmt.Errorf("a second root element <%s> after the first one closed", t.Name.Local)}
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				line, _ := d.InputPos()
				return &PosError{Line: line, Err: errors.New("text after the root element closed")}
			}
		}
	}
}

// children calls fn for each child element of the element just started,
// until its end; fn must consume the child (read its text or Skip it).
func children(d *xml.Decoder, fn func(xml.StartElement) error) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// disqusThread reads a <thread>: its identifier, link and title.
func disqusThread(d *xml.Decoder, start xml.StartElement, line int) (Thread, error) {
	th := Thread{Key: attr(start, "id"), Line: line}
	err := children(d, func(c xml.StartElement) error {
		var err error
		switch c.Name.Local {
		case "id":
			var id string
			id, err = text(d, maxText)
			if s := strings.Trim(strings.TrimSpace(id), "/"); s != "" && !strings.ContainsAny(s, "/?= ") {
				th.Slug = s
			}
		case "link":
			th.Link, err = text(d, maxText)
		case "title":
			th.Title, err = text(d, maxText)
		default:
			err = d.Skip()
		}
		return err
	})
	if err != nil {
		return th, err
	}
	th.Link, th.Title = strings.TrimSpace(th.Link), strings.TrimSpace(th.Title)
	if th.Key == "" {
		return th, errors.New("a <thread> without dsq:id")
	}
	return th, nil
}

// disqusPost reads a <post>: a comment on the thread it names.
func disqusPost(d *xml.Decoder, start xml.StartElement, line int) (Comment, error) {
	c := Comment{ID: attr(start, "id"), Line: line}
	var created, deleted, spam string
	err := children(d, func(e xml.StartElement) error {
		var err error
		switch e.Name.Local {
		case "message":
			c.Body, err = text(d, maxText)
		case "createdAt":
			created, err = text(d, 100)
		case "isDeleted":
			deleted, err = text(d, 100)
		case "isSpam":
			spam, err = text(d, 100)
		case "thread":
			c.Thread = attr(e, "id")
			err = d.Skip()
		case "parent":
			c.Parent = attr(e, "id")
			err = d.Skip()
		case "author":
			err = children(d, func(a xml.StartElement) error {
				var err error
				switch a.Name.Local {
				case "name":
					c.Author, err = text(d, 1000)
				case "email":
					c.Email, err = text(d, 1000)
				default:
					err = d.Skip()
				}
				return err
			})
		default:
			err = d.Skip()
		}
		return err
	})
	if err != nil {
		return c, err
	}
	switch {
	case c.ID == "":
		return c, errors.New("a <post> without dsq:id")
	case c.Thread == "":
		return c, fmt.Errorf("post %s names no <thread dsq:id>", c.ID)
	}
	if created = strings.TrimSpace(created); created != "" {
		t, err := time.Parse(time.RFC3339, created)
		if err != nil {
			return c, fmt.Errorf("post %s: createdAt %q is not a time (RFC 3339)", c.ID, created)
		}
		c.CreatedAt = t.UTC()
	}
	c.Author, c.Email = strings.TrimSpace(c.Author), strings.TrimSpace(c.Email)
	switch {
	case isTrue(spam):
		c.State = Spam
	case isTrue(deleted):
		c.State = Deleted
	}
	return c, nil
}

func isTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }
