package importer

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"site/app/comments"
	"site/app/content"
)

// Importer stores the comments of an export file as the site's comments.
type Importer struct {
	// Comments is where they go; Content finds the posts they belong to.
	Comments *comments.Store
	Content  *content.Store
	// Out receives a progress line every Every comments stored (default
	// 1000); nil prints nothing.
	Out   io.Writer
	Every int
	// Now is the clock, for comments the file gives no time; nil means
	// time.Now.
	Now func() time.Time
}

// Unmatched is a thread of the file no entry of the site was found for.
type Unmatched struct {
	Title, Link string
	// Line is where it starts in the file; Comments how many comments it
	// holds (none of them imported).
	Line, Comments int
	// Reason says what was tried.
	Reason string
}

// Report is what an import did.
type Report struct {
	Format Format
	// Threads with comments in the file, and how many were matched to an
	// entry of the site.
	Threads, Matched int
	Unmatched        []Unmatched
	// Comments is how many the file holds.
	Comments int
	// Added were stored now (Held of them held for moderation: pending in
	// the source); Existing were stored by an earlier import of the same
	// comments and left as they are.
	Added, Held, Existing int
	// Skipped counts the comments not imported by their state in the
	// source (spam, deleted, pingbacks); InUnmatched those on threads not
	// matched; TooLong those longer than comments.MaxHTML.
	Skipped     map[State]int
	InUnmatched int
	TooLong     int
	// Flattened are replies to replies, attached to their top-level
	// ancestor; Orphans are replies with no imported ancestor on their
	// thread (spam, deleted, missing from the file, or on another thread),
	// imported as top-level comments.
	Flattened, Orphans int
}

// String is the report's summary line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d comments on %d threads (%d matched, %d unmatched); %d added (%d held), %d already imported",
		r.Format, r.Comments, r.Threads, r.Matched, len(r.Unmatched), r.Added, r.Held, r.Existing)
	var skipped []string
	for _, s := range []State{Spam, Deleted, NotComment} {
		if n := r.Skipped[s]; n > 0 {
			skipped = append(skipped, fmt.Sprintf("%d %s", n, s))
		}
	}
	if r.InUnmatched > 0 {
		skipped = append(skipped, fmt.Sprintf("%d on unmatched threads", r.InUnmatched))
	}
	if r.TooLong > 0 {
		skipped = append(skipped, fmt.Sprintf("%d longer than %d KiB", r.TooLong, comments.MaxHTML>>10))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "; skipped %s", strings.Join(skipped, ", "))
	}
	if r.Flattened > 0 || r.Orphans > 0 {
		fmt.Fprintf(&b, "; %d deeper replies attached to their top-level comment, %d replies made top-level (what they answer is not imported, or on another thread)", r.Flattened, r.Orphans)
	}
	return b.String()
}

// node is what the first pass keeps of a comment: where it goes.
type node struct {
	thread, parent string
	state          State
}

// plan is the first pass's result: the file's threads and comments' places.
type plan struct {
	format  Format
	threads map[string]Thread
	order   []string // thread keys in file order
	nodes   map[string]node
	count   map[string]int // comments per thread
	posts   map[string]int64
}

// Import reads the export file at path in three streaming passes: the
// threads and the shape of the comments (ids and parents, not bodies);
// then top-level comments and the replies whose top-level comment is
// stored; then any reply that came in the file before its top-level
// comment. A comment stored by an earlier import (its source and id) is
// not added again, so a second run adds nothing. A malformed file is an
// error naming the line, before anything is stored.
func (im *Importer) Import(ctx context.Context, path string) (Report, error) {
	rep := Report{Skipped: map[State]int{}}
	p := &plan{threads: map[string]Thread{}, nodes: map[string]node{}, count: map[string]int{}, posts: map[string]int64{}}
	format, err := im.pass(path, Handler{
		Thread: func(th Thread) error {
			if _, seen := p.threads[th.Key]; !seen {
				p.order = append(p.order, th.Key)
			}
			p.threads[th.Key] = th
			return nil
		},
		Comment: func(c Comment) error {
			if _, dup := p.nodes[c.ID]; dup {
				return &PosError{Line: c.Line, Err: fmt.Errorf("comment id %s appears twice in the file", c.ID)}
			}
			p.nodes[c.ID] = node{thread: c.Thread, parent: c.Parent, state: c.State}
			p.count[c.Thread]++
			return ctx.Err()
		},
	})
	if err != nil {
		return rep, err
	}
	p.format, rep.Format = format, format
	rep.Comments = len(p.nodes)
	m := &matcher{content: im.Content}
	for _, key := range p.order {
		if p.count[key] == 0 {
			continue
		}
		rep.Threads++
		th := p.threads[key]
		id, _, reason, err := m.match(ctx, th)
		if err != nil {
			return rep, err
		}
		if id == 0 {
			rep.Unmatched = append(rep.Unmatched, Unmatched{Title: th.Title, Link: th.Link, Line: th.Line, Comments: p.count[key], Reason: reason})
			continue
		}
		rep.Matched++
		p.posts[key] = id
	}
	var missing []string
	for key := range p.count {
		if _, ok := p.threads[key]; !ok {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	for _, key := range missing {
		rep.Threads++
		rep.Unmatched = append(rep.Unmatched, Unmatched{Title: "thread " + key, Comments: p.count[key],
			Reason: "comments name this thread, but the file does not hold it"})
	}

	stored := make(map[string]int64, len(p.nodes))
	var deferred []string
	done, every := 0, cmp.Or(im.Every, 1000)
	if _, err := im.pass(path, Handler{Comment: func(c Comment) error {
		done++
		if im.Out != nil && done%every == 0 {
			fmt.Fprintf(im.Out, "%d of %d comments\n", done, rep.Comments)
		}
		if err := ctx.Err(); err != nil || !p.importable(c.ID) {
			return err
		}
		root := p.root(c.ID)
		if root != c.ID && stored[root] == 0 {
			deferred = append(deferred, c.ID)
			return nil
		}
		return im.store(ctx, p, &rep, c, root, stored)
	}}); err != nil {
		return rep, err
	}
	if len(deferred) > 0 {
		wanted := make(map[string]bool, len(deferred))
		for _, id := range deferred {
			wanted[id] = true
		}
		if _, err := im.pass(path, Handler{Comment: func(c Comment) error {
			if !wanted[c.ID] {
				return nil
			}
			return im.store(ctx, p, &rep, c, p.root(c.ID), stored)
		}}); err != nil {
			return rep, err
		}
	}
	for _, id := range p.sortedIDs() {
		n := p.nodes[id]
		switch {
		case n.state != Approved && n.state != Pending:
			rep.Skipped[n.state]++
		case p.posts[n.thread] == 0:
			rep.InUnmatched++
		}
	}
	return rep, nil
}

// pass parses the file once from its start.
func (im *Importer) pass(path string, h Handler) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	} else if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	format, err := Parse(bufio.NewReaderSize(f, 64<<10), h)
	if err != nil {
		return format, fmt.Errorf("%s: %w", path, err)
	}
	return format, nil
}

// importable reports whether the comment is imported: approved or pending
// in its source, on a matched thread.
func (p *plan) importable(id string) bool {
	n, ok := p.nodes[id]
	return ok && (n.state == Approved || n.state == Pending) && p.posts[n.thread] != 0
}

// root is the comment a comment is stored under: itself when top-level,
// else its topmost importable ancestor on the same thread (replies are one
// level deep here; ancestors not imported are passed over). A reply with
// no importable ancestor is its own root: a top-level comment.
func (p *plan) root(id string) string {
	n := p.nodes[id]
	root := id
	seen := map[string]bool{id: true}
	for cur := n.parent; cur != "" && !seen[cur]; {
		seen[cur] = true
		a, ok := p.nodes[cur]
		if !ok || a.thread != n.thread {
			break
		}
		if p.importable(cur) {
			root = cur
		}
		cur = a.parent
	}
	return root
}

func (p *plan) sortedIDs() []string {
	ids := make([]string, 0, len(p.nodes))
	for id := range p.nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// store adds one comment under root (itself for a top-level one).
func (im *Importer) store(ctx context.Context, p *plan, rep *Report, c Comment, root string, stored map[string]int64) error {
	body := comments.Sanitize(bodyHTML(c.Body))
	if len(body) > comments.MaxHTML {
		rep.TooLong++
		return nil
	}
	cm := &comments.Comment{
		PostID: p.posts[c.Thread], Author: authorName(c.Author), HTML: body, Body: comments.PlainText(body),
		Status: comments.Approved, CreatedAt: c.CreatedAt, Source: string(p.format), SourceID: c.ID,
	}
	if cm.CreatedAt.IsZero() {
		cm.CreatedAt = im.now().UTC()
	}
	if c.State == Pending {
		cm.Status = comments.Held
	} else {
		cm.ApprovedAt = cm.CreatedAt
	}
	if root != c.ID {
		cm.ParentID = stored[root]
		if root != c.Parent {
			rep.Flattened++
		}
	} else if c.Parent != "" {
		rep.Orphans++
	}
	added, err := im.Comments.Add(ctx, cm)
	if err != nil {
		return fmt.Errorf("line %d: comment %s: %w", c.Line, c.ID, err)
	}
	stored[c.ID] = cm.ID
	switch {
	case !added:
		rep.Existing++
	case cm.Status == comments.Held:
		rep.Added++
		rep.Held++
	default:
		rep.Added++
	}
	return nil
}

func (im *Importer) now() time.Time {
	if im.Now != nil {
		return im.Now()
	}
	return time.Now()
}

// authorName is the name shown with an imported comment: the source's,
// cut to comments.MaxDisplayName characters, "Anonymous" when empty.
func authorName(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "Anonymous"
	}
	if utf8.RuneCountInString(s) > comments.MaxDisplayName {
		s = string([]rune(s)[:comments.MaxDisplayName])
	}
	return s
}

var (
	blockTag   = regexp.MustCompile(`(?i)<(p|br|div|ul|ol|blockquote|pre)\b`)
	paragraphs = regexp.MustCompile(`\n\s*\n`)
)

// bodyHTML is the HTML of an imported comment before it is sanitized:
// the source's HTML as it is when it has paragraphs (Disqus), else the
// text's blank lines made paragraphs and its line breaks <br> (WordPress
// stores comments as text and adds them when it shows them).
func bodyHTML(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if s == "" || blockTag.MatchString(s) {
		return s
	}
	var b strings.Builder
	for _, para := range paragraphs.Split(s, -1) {
		if para = strings.TrimSpace(para); para != "" {
			b.WriteString("<p>" + strings.ReplaceAll(para, "\n", "<br>\n") + "</p>\n")
		}
	}
	return b.String()
}
