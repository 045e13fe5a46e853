package analytics

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// The statements of the recorder.
const (
	sqlMarkDone = `INSERT INTO processed_jobs (id, kind, done_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`
	sqlVisitor  = `INSERT INTO daily_visitors (day, visitor) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlViews    = `INSERT INTO page_views (job_id, path, referrer, viewed_at, visitor, new_visitor,
		country, city, browser, os, device, referrer_host, utm_source) VALUES `
	sqlViewRow  = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	viewColumns = 13
	// viewsPerInsert is how many rows one INSERT statement adds: a
	// statement per row would cost about a third more.
	viewsPerInsert = 64
)

// viewChunks are the row counts of the INSERT statements kept prepared:
// a batch's last rows go in the largest that fit.
var viewChunks = [...]int{viewsPerInsert, 16, 4, 1}

// statements are prepared once on the writer pool and used in each
// transaction through Tx.StmtContext, which reuses the connection's
// prepared statement: parsing a 64-row INSERT per transaction cost more
// than a tenth of the recorder's time.
type statements struct {
	mu       sync.Mutex
	markDone *sql.Stmt
	visitor  *sql.Stmt
	views    [len(viewChunks)]*sql.Stmt
}

// prepare makes the statements if they are not yet; call it outside a
// transaction (the writer has one connection).
func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.markDone != nil {
		return nil
	}
	var all []*sql.Stmt
	fail := func(err error) error {
		for _, st := range all {
			st.Close()
		}
		return err
	}
	prep := func(q string) (*sql.Stmt, error) {
		st, err := db.PrepareContext(ctx, q)
		if err == nil {
			all = append(all, st)
		}
		return st, err
	}
	var views [len(viewChunks)]*sql.Stmt
	for i, n := range viewChunks {
		st, err := prep(insertViews(n))
		if err != nil {
			return fail(err)
		}
		views[i] = st
	}
	visitor, err := prep(sqlVisitor)
	if err != nil {
		return fail(err)
	}
	markDone, err := prep(sqlMarkDone)
	if err != nil {
		return fail(err)
	}
	s.markDone, s.visitor, s.views = markDone, visitor, views
	return nil
}

// txStatements are the statements bound to one transaction.
type txStatements struct {
	markDone, visitor *sql.Stmt
	views             [len(viewChunks)]*sql.Stmt
}

// in binds the prepared statements to tx; they close with it.
func (s *statements) in(ctx context.Context, tx *sql.Tx) txStatements {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := txStatements{markDone: tx.StmtContext(ctx, s.markDone), visitor: tx.StmtContext(ctx, s.visitor)}
	for i, st := range s.views {
		t.views[i] = tx.StmtContext(ctx, st)
	}
	return t
}

// insertViews is the INSERT statement of n page_views rows.
func insertViews(n int) string {
	var b strings.Builder
	b.WriteString(sqlViews)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(sqlViewRow)
	}
	return b.String()
}

// viewInserter adds page_views rows viewsPerInsert at a time.
type viewInserter struct {
	stmts txStatements
	args  []any
}

func (w *viewInserter) add(ctx context.Context, id, path, referrer string, v view) error {
	w.args = append(w.args, id, path, referrer, v.at.UnixMilli(), v.visitor, v.isNew,
		v.country, v.city, v.browser, v.os, v.device, v.refHost, v.utm)
	if len(w.args) < viewsPerInsert*viewColumns {
		return nil
	}
	_, err := w.stmts.views[0].ExecContext(ctx, w.args...)
	w.args = w.args[:0]
	return err
}

// flush inserts the rows still held, in the largest prepared chunks.
func (w *viewInserter) flush(ctx context.Context) error {
	args := w.args
	for i, n := range viewChunks {
		for len(args) >= n*viewColumns {
			if _, err := w.stmts.views[i].ExecContext(ctx, args[:n*viewColumns]...); err != nil {
				return err
			}
			args = args[n*viewColumns:]
		}
	}
	w.args = w.args[:0]
	return nil
}
