package analytics

import (
	"context"
	"database/sql"
	"strconv"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// The statements of the recorder.
const (
	sqlMarkDone = `INSERT INTO processed_jobs (id, kind, done_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`
	sqlVisitor  = `INSERT INTO daily_visitors (day, visitor) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlViewLog  = `INSERT INTO page_view_batches (job_id, first_at, last_at, views, log) VALUES (?, ?, ?, ?, ?)`
)

// statements are prepared once on the writer pool and used in each
// transaction through Tx.StmtContext, which reuses the connection's
// prepared statement.
type statements struct {
	mu                         sync.Mutex
	markDone, visitor, viewLog *sql.Stmt
}

// prepare makes the statements if they are not yet; call it outside a
// transaction (the writer has one connection).
func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.markDone != nil {
		return nil
	}
	var made []*sql.Stmt
	for _, q := range []string{sqlMarkDone, sqlVisitor, sqlViewLog} {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			for _, st := range made {
				st.Close()
			}
			return err
		}
		made = append(made, st)
	}
	s.markDone, s.visitor, s.viewLog = made[0], made[1], made[2]
	return nil
}

// txStatements are the statements bound to one transaction.
type txStatements struct {
	markDone, visitor, viewLog *sql.Stmt
}

// in binds the prepared statements to tx; they close with it.
func (s *statements) in(ctx context.Context, tx *sql.Tx) txStatements {
	s.mu.Lock()
	defer s.mu.Unlock()
	return txStatements{markDone: tx.StmtContext(ctx, s.markDone), visitor: tx.StmtContext(ctx, s.visitor),
		viewLog: tx.StmtContext(ctx, s.viewLog)}
}

// viewLog gathers the stored views of one job as the JSON of a
// page_view_batches row (migration 0006): one array per view, in the
// column order of the page_views view.
type viewLog struct {
	buf         []byte
	views       int
	first, last int64
}

// reset starts the log of a new job.
func (l *viewLog) reset() {
	l.buf = append(l.buf[:0], '[')
	l.views = 0
}

// add appends a view; index is its place in the job, or -1 for a job of
// one view (whose view id is the job id).
func (l *viewLog) add(index int, referrer string, v view) {
	at := v.at.UnixMilli()
	if l.views == 0 {
		l.first, l.last = at, at
	} else {
		l.buf = append(l.buf, ',')
		l.first, l.last = min(l.first, at), max(l.last, at)
	}
	l.views++
	b := append(l.buf, '[')
	if index < 0 {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(index), 10)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, at, 10)
	for i, s := range [...]string{v.path, referrer, v.visitor, "", v.country, v.city, v.browser, v.os, v.device, v.refHost, v.utm} {
		b = append(b, ',')
		if i == 3 { // new_visitor
			if v.isNew {
				b = append(b, '1')
			} else {
				b = append(b, '0')
			}
			continue
		}
		b = appendJSONString(b, s)
	}
	l.buf = append(b, ']')
}

// write inserts the job's row, if it stored any view.
func (l *viewLog) write(ctx context.Context, st *sql.Stmt, jobID string) error {
	if l.views == 0 {
		return nil
	}
	l.buf = append(l.buf, ']')
	// The driver copies the text while binding it, and l.buf is not
	// touched again before ExecContext returns.
	_, err := st.ExecContext(ctx, jobID, l.first, l.last, l.views, unsafe.String(&l.buf[0], len(l.buf)))
	return err
}

// appendJSONString writes s as a JSON string. Bytes that are not UTF-8
// become U+FFFD, as encoding/json writes them, since SQLite's JSON
// functions refuse them.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
