package comments

import (
	"net/http"
	"net/url"
	"strconv"

	"site/app/content"
	"site/app/web"
	"site/views"
)

// Extras is the comments section of a post page (web.Server.EntryExtras).
// An anonymous reader's section (cached, shared) holds the shown comments,
// their count and a sign-in link; a signed-in reader's (never cached) adds
// their own held comments, the edit and delete forms of their recent ones,
// reply links, and the form (with ?reply=ID, a reply to that comment).
func (h *Web) Extras(r *http.Request, post *content.Post) (web.EntryExtra, error) {
	if post.Kind != content.KindPost || post.ID == 0 {
		return web.EntryExtra{}, nil
	}
	u, signed := h.Auth.User(r)
	var viewer int64
	if signed {
		viewer = u.ID
	}
	list, err := h.Store.List(r.Context(), post.ID, viewer)
	if err != nil {
		return web.EntryExtra{}, err
	}
	s := views.CommentsSection{Slug: post.Slug, SignedIn: signed, Closed: h.Closed(post),
		SignInURL: "/signin?" + url.Values{"next": {post.Path()}}.Encode()}
	if signed && !s.Closed {
		if s.Banned, err = h.Store.IsBanned(r.Context(), u.ID); err != nil {
			return web.EntryExtra{}, err
		}
	}
	canReply := signed && !s.Closed && !s.Banned
	byID := map[int64]*views.CommentView{}
	for _, c := range list {
		if c.Status == Approved {
			s.Count++
		}
		v := h.view(c, viewer, canReply)
		if !c.IsReply() {
			s.Comments = append(s.Comments, v)
			continue
		}
		// thread put every reply after its parent.
		parent := &s.Comments[len(s.Comments)-1]
		parent.Replies = append(parent.Replies, v)
	}
	for i := range s.Comments {
		byID[s.Comments[i].ID] = &s.Comments[i]
	}
	if canReply {
		s.Form = h.form(post, u)
		if id, err := strconv.ParseInt(r.URL.Query().Get("reply"), 10, 64); err == nil {
			if p, ok := byID[id]; ok && p.CanReply {
				s.Form.ParentID, s.Form.ParentAuthor, s.Form.ParentAnchor = p.ID, p.Author, p.Anchor
			}
		}
	}
	return web.EntryExtra{Component: views.Comments(s), Scripts: []string{"comments.js"}}, nil
}

// view is a comment as viewer sees it: their own recent ones editable,
// shown top-level ones open to replies when canReply.
func (h *Web) view(c Comment, viewer int64, canReply bool) views.CommentView {
	v := views.CommentView{ID: c.ID, Anchor: c.Anchor(), Author: c.Author, HTML: c.HTML, At: c.CreatedAt,
		Edited: !c.EditedAt.IsZero(), Held: c.Status == Held,
		CanReply: canReply && !c.IsReply() && c.Status == Approved}
	if viewer != 0 && c.UserID == viewer {
		if until := c.CreatedAt.Add(h.limits().EditFor); h.now().Before(until) {
			v.EditUntil, v.Body = until, c.Body
		}
	}
	return v
}
