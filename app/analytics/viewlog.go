package analytics

import (
	"context"
	"database/sql"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"
)

// viewLog gathers the stored views of one job as a page_view_batches row
// (migration 0006): one JSON array per view, in the column order of the
// page_views view, its strings written once per row in a table of their
// own and referred to by position. Most of a row's views share their
// browser, country, path and more, so the row is much smaller than written
// out in full (the page-view benchmark in docs/benchmarks.md has both
// sizes), and so are the WAL pages Litestream ships.
type viewLog struct {
	log, strings []byte
	ids          map[string]int // position of each string in strings
	views        int
	base         int64 // Unix ms the views' offsets count from
}

// reset starts the row of a job whose views are none earlier than base.
func (l *viewLog) reset(base time.Time) {
	l.log = append(l.log[:0], '[')
	l.strings = append(l.strings[:0], '[')
	if l.ids == nil {
		l.ids = make(map[string]int, 64)
	}
	clear(l.ids)
	l.views = 0
	l.base = base.UnixMilli()
}

// id is the position of s in the row's strings, adding it if new.
func (l *viewLog) id(s string) int {
	if id, ok := l.ids[s]; ok {
		return id
	}
	id := len(l.ids)
	if id > 0 {
		l.strings = append(l.strings, ',')
	}
	l.strings = appendJSONString(l.strings, s)
	l.ids[s] = id
	return id
}

// add appends a view; index is its place in the job.
func (l *viewLog) add(index int, referrer string, v view) {
	b := l.log
	if l.views > 0 {
		b = append(b, ',')
	}
	l.views++
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, v.at.UnixMilli()-l.base, 10)
	for i, s := range [...]string{v.path, referrer, v.visitor, "", v.country, v.city, v.browser, v.os, v.device, v.refHost, v.utm} {
		b = append(b, ',')
		if i == 3 { // new_visitor, a number
			if v.isNew {
				b = append(b, '1')
			} else {
				b = append(b, '0')
			}
			continue
		}
		b = strconv.AppendInt(b, int64(l.id(s)), 10)
	}
	l.log = append(b, ']')
}

// write inserts the job's row, if it stored any view.
func (l *viewLog) write(ctx context.Context, st *sql.Stmt, jobID string) error {
	if l.views == 0 {
		return nil
	}
	l.log = append(l.log, ']')
	l.strings = append(l.strings, ']')
	// The driver copies the text while binding it, and the buffers are not
	// touched again before ExecContext returns.
	_, err := st.ExecContext(ctx, jobID, l.base, l.views,
		unsafe.String(&l.strings[0], len(l.strings)), unsafe.String(&l.log[0], len(l.log)))
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
