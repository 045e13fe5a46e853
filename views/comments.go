package views

import (
	"strconv"
	"time"
)

// CommentView is one comment as a post page shows it.
type CommentView struct {
	// ID is the comment's id; Anchor the id of its element ("comment-ID").
	ID     int64
	Anchor string
	// Author is the name shown; HTML the comment, already sanitized.
	Author string
	HTML   string
	At     time.Time
	Edited bool
	// Held marks the viewer's own comment waiting for approval.
	Held bool
	// CanReply offers a reply link (a signed-in viewer, a shown top-level
	// comment, comments open).
	CanReply bool
	// EditUntil is when the viewer's own comment stops being editable;
	// zero when it is not the viewer's or no longer editable. Body is its
	// Markdown, for the edit form.
	EditUntil time.Time
	Body      string
	// Replies answer a top-level comment.
	Replies []CommentView
}

// CommentForm is the comment form's state: what the reader typed, and why
// it was refused.
type CommentForm struct {
	// Action is the URL the form posts to.
	Action string
	// PostPath is the post's page.
	PostPath string
	// Name is the display name; Body the comment's Markdown.
	Name, Body string
	// ParentID is the comment replied to (0: none); ParentAuthor its
	// author, and ParentAnchor its element's id.
	ParentID                   int64
	ParentAuthor, ParentAnchor string
	// Notify asks for an email when someone replies.
	Notify bool
	// Stamp is the signed time the form was made (spam control).
	Stamp string
	// Error says why the last try was refused, in plain words.
	Error string
	// MaxLength is the size cap in characters; MaxLinks the cap on links.
	MaxLength, MaxLinks int
}

// CommentsSection is the comments part of a post page.
type CommentsSection struct {
	// Slug is the post's; Count its number of shown comments.
	Slug  string
	Count int
	// Comments are the top-level comments with their replies.
	Comments []CommentView
	// SignedIn: the viewer is signed in (the page is theirs alone).
	SignedIn bool
	// Closed: no new comments (the post's switch or its age); Banned: the
	// viewer may not comment.
	Closed, Banned bool
	// SignInURL is where an anonymous reader signs in to comment.
	SignInURL string
	// Form is the comment form, for a signed-in reader who may comment.
	Form CommentForm
}

// CommentEdit is the page that shows an edit refused, with the text kept.
type CommentEdit struct {
	// Action is the URL the form posts to; PostPath the post's page.
	Action, PostPath string
	// ID is the comment's; Body the text as typed; Error the reason.
	ID    int64
	Body  string
	Error string
	// Until is when the comment stops being editable.
	Until     time.Time
	MaxLength int
}

// commentCount says how many comments there are, in words.
func commentCount(n int) string {
	switch n {
	case 0:
		return "No comments yet"
	case 1:
		return "1 comment"
	}
	return strconv.Itoa(n) + " comments"
}

func commentTime(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") }

func clockTime(t time.Time) string { return t.UTC().Format("15:04 UTC") }

func idString(id int64) string { return strconv.FormatInt(id, 10) }
