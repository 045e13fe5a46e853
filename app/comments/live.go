package comments

import (
	"strconv"

	"github.com/nats-io/nats.go"

	"site/app/events"
)

// Event is the live event of a comment (events.comments.<post>). Every
// reader of the post receives it, so a comment not approved carries only
// its id, post and time (Held): its text is the admin's to see first.
func Event(c Comment) events.Comment {
	e := events.Comment{ID: strconv.FormatInt(c.ID, 10), Post: c.PostSlug, Held: c.Status != Approved, At: c.CreatedAt}
	if c.ParentID != 0 {
		e.Parent = strconv.FormatInt(c.ParentID, 10)
	}
	if !e.Held {
		e.Author, e.Body = c.Author, c.HTML
	}
	return e
}

// Announce publishes c's Event through nc: call it when a comment is
// stored (held or not) and when one is approved. A nil nc (no live
// updates) publishes nothing.
func Announce(nc *nats.Conn, c Comment) error {
	if nc == nil {
		return nil
	}
	return events.Publish(nc, Event(c))
}
