package admin

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"time"
)

// CommentExportFormat names the layout of the comments' JSON export.
const CommentExportFormat = "site-comments/1"

// ExportedComment is one comment in the JSON export: every column of the
// comment, the post it is on (by id, kind and slug, so it can be matched
// on another site) and its reader's address. Times are RFC 3339 in UTC,
// absent when not set.
type ExportedComment struct {
	ID         int64      `json:"id"`
	PostID     int64      `json:"post_id"`
	PostKind   string     `json:"post_kind"`
	PostSlug   string     `json:"post_slug"`
	PostTitle  string     `json:"post_title"`
	ParentID   *int64     `json:"parent_id"`
	UserID     *int64     `json:"user_id"`
	Address    string     `json:"user_address,omitempty"`
	Author     string     `json:"author"`
	Body       string     `json:"body"`
	HTML       string     `json:"html"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	EditedAt   *time.Time `json:"edited_at,omitempty"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
	Source     string     `json:"source"`
	SourceID   *string    `json:"source_id"`
	Notify     bool       `json:"notify"`
}

// CommentExport is the head of the export; Comments follow, oldest first
// (by id).
type CommentExport struct {
	Format     string            `json:"format"`
	Site       string            `json:"site"`
	ExportedAt time.Time         `json:"exported_at"`
	Comments   []ExportedComment `json:"comments"`
}

func optTime(s int64) *time.Time {
	if s == 0 {
		return nil
	}
	t := time.Unix(s, 0).UTC()
	return &t
}

// commentExport sends every comment as one JSON document (an attachment),
// written row by row as it is read: the export of a large site is never
// whole in memory. A failure after the first bytes cuts the connection, so
// the browser reports a failed download instead of keeping half a file.
func (a *Admin) commentExport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rows, err := a.Data.Read.QueryContext(ctx, `SELECT c.id, c.post_id, p.kind, p.slug, p.title, c.parent_id, c.user_id,
		coalesce(u.address, ''), c.author, c.body, c.html, c.status, c.created_at, c.edited_at, c.approved_at, c.source, c.source_id, c.notify
		FROM comments c JOIN posts p ON p.id = c.post_id LEFT JOIN users u ON u.id = c.user_id ORDER BY c.id`)
	if err != nil {
		a.serverError(w, r, fmt.Errorf("admin: export comments: %w", err))
		return
	}
	defer rows.Close()
	now := a.now().UTC()
	name := a.exportName() + "-comments.json"
	if err := a.Audit(r, "comments.export", name, "JSON download"); err != nil {
		a.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	out := bufio.NewWriterSize(w, 64<<10)
	head, _ := json.Marshal(CommentExport{Format: CommentExportFormat, Site: a.Shell.SiteName, ExportedAt: now})
	// The head without its closing "null}": the comments are written in
	// its place, one at a time.
	head = head[:len(head)-len("null}")]
	fail := func(err error) {
		a.Logger.Error("admin: export comments", "err", err)
		panic(http.ErrAbortHandler)
	}
	if _, err := out.Write(append(head, '[')); err != nil {
		fail(err)
	}
	enc := json.NewEncoder(out)
	n := 0
	for rows.Next() {
		var c ExportedComment
		var parent, user sql.NullInt64
		var source sql.NullString
		var created, edited, approved int64
		if err := rows.Scan(&c.ID, &c.PostID, &c.PostKind, &c.PostSlug, &c.PostTitle, &parent, &user, &c.Address, &c.Author,
			&c.Body, &c.HTML, &c.Status, &created, &edited, &approved, &c.Source, &source, &c.Notify); err != nil {
			fail(err)
		}
		if parent.Valid {
			c.ParentID = &parent.Int64
		}
		if user.Valid {
			c.UserID = &user.Int64
		}
		if source.Valid {
			c.SourceID = &source.String
		}
		c.CreatedAt, c.EditedAt, c.ApprovedAt = time.Unix(created, 0).UTC(), optTime(edited), optTime(approved)
		if n > 0 {
			if err := out.WriteByte(','); err != nil {
				fail(err)
			}
		}
		if err := enc.Encode(c); err != nil {
			fail(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		fail(err)
	}
	if _, err := out.WriteString("]}\n"); err != nil {
		fail(err)
	}
	if err := out.Flush(); err != nil {
		fail(err)
	}
}
