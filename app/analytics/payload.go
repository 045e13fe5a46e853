package analytics

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"site/app/jobs"
)

// The payload of a batch job (NewBatchJob) is text, one view per line, so
// that a dead letter reads in a terminal, and so that neither side pays for
// reflection as JSON would (BenchmarkBatchPayload measures both formats;
// docs/benchmarks.md has pv1's cost per view).
//
//	pv1
//	<at>\t<path>\t<host>\t<referrer>\t<user agent>\t<utm>\t<ip>\t<x-forwarded-for>\t<flags>
//	...
//
// at is Unix milliseconds ("" for none); flags holds "d" for DNT: 1 and "g"
// for Sec-GPC: 1. In every field a backslash, tab and newline are written
// \\, \t and \n. A path, host, referrer or user agent equal to the same
// column of an earlier line is written ^<n>, n being that line's index from
// 0, so that the user agent of a returning reader travels once per batch;
// a value that starts with ^ itself is written \^.
const (
	payloadMagic  = "pv1\n"
	payloadFields = 9
	// internedColumns are the columns that may refer to an earlier line.
	internedColumns = 4
	// maxBatchViews is the most views a batch may hold (the web role
	// sends at most 2,000): a payload of more lines is refused before
	// anything is allocated for it, as a line of nine bytes decodes into a
	// PageView twenty times its size.
	maxBatchViews = 1 << 16
)

// errPayload is a batch payload that does not follow the format.
var errPayload = errors.New("malformed page view batch")

// batchWriter encodes a batch's views one at a time.
type batchWriter struct {
	buf   []byte
	views int
	// seen maps each interned column's values to the line that holds them.
	seen [internedColumns]map[string]int
	// last is each interned column's latest value and the line that holds
	// it, looked at before seen: the host is nearly always the same, and so
	// is a reader's user agent from one page to the next.
	last [internedColumns]struct {
		value string
		line  int
	}
}

func newBatchWriter(size int) *batchWriter {
	w := &batchWriter{buf: append(make([]byte, 0, size), payloadMagic...)}
	for i := range w.seen {
		w.seen[i] = make(map[string]int, 16)
	}
	return w
}

// add appends pv's line.
func (w *batchWriter) add(pv *PageView) {
	dst := w.buf
	if !pv.At.IsZero() {
		dst = strconv.AppendInt(dst, pv.At.UnixMilli(), 10)
	}
	for c, s := range [internedColumns]string{pv.Path, pv.Host, pv.Referrer, pv.UserAgent} {
		dst = append(dst, '\t')
		if s != "" {
			line, ok := w.last[c].line, w.views > 0 && w.last[c].value == s
			if !ok {
				line, ok = w.seen[c][s]
			}
			if ok {
				w.last[c].value, w.last[c].line = s, line
				dst = append(dst, '^')
				dst = strconv.AppendInt(dst, int64(line), 10)
				continue
			}
			w.seen[c][s] = w.views
			w.last[c].value, w.last[c].line = s, w.views
		}
		dst = appendField(dst, s)
	}
	for _, s := range [...]string{pv.UTMSource, pv.IP, pv.ForwardedFor} {
		dst = append(dst, '\t')
		dst = appendField(dst, s)
	}
	dst = append(dst, '\t')
	if pv.DNT {
		dst = append(dst, 'd')
	}
	if pv.GPC {
		dst = append(dst, 'g')
	}
	w.buf = append(dst, '\n')
	w.views++
}

// job is the batch as a job with a fresh, stable id.
func (w *batchWriter) job() jobs.Job {
	return jobs.Job{ID: newJobID(), Subject: jobs.SubjectPageView, Data: w.buf, Count: w.views}
}

// appendField writes s escaped.
func appendField(dst []byte, s string) []byte {
	if s != "" && s[0] == '^' {
		dst = append(dst, '\\')
	}
	for {
		i := strings.IndexAny(s, "\\\t\n")
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		switch s[i] {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'n')
		}
		s = s[i+1:]
	}
}

// laterFormat reports the first line of a payload in a batch format newer
// than pv1 ("pv2", …), which a later web role may send before this worker
// is upgraded: such a job must wait in the dead letters, not be dropped.
func laterFormat(data []byte) (string, bool) {
	line, _, ok := strings.Cut(string(data[:min(len(data), 16)]), "\n")
	if !ok || len(line) < 3 || line[:2] != "pv" {
		return "", false
	}
	for _, c := range []byte(line[2:]) {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	version, err := strconv.Atoi(line[2:])
	return line, err == nil && version > 1
}

// decodeBatch reads a pv1 payload. The views' strings share one copy of
// the payload, so whatever keeps one beyond the job must clone it (as the
// agent cache does), or it keeps the whole batch in memory. Any line out
// of format makes the whole payload malformed: a batch is written by this
// package, so a bad line means it was damaged.
func decodeBatch(data []byte) ([]PageView, error) {
	if len(data) < len(payloadMagic) || string(data[:len(payloadMagic)]) != payloadMagic {
		return nil, errPayload
	}
	s := string(data[len(payloadMagic):])
	lines := strings.Count(s, "\n")
	if lines > maxBatchViews {
		return nil, errPayload
	}
	views := make([]PageView, 0, lines)
	var fields [payloadFields]string
	for s != "" {
		nl := strings.IndexByte(s, '\n')
		if nl < 0 {
			return nil, errPayload
		}
		line := s[:nl]
		s = s[nl+1:]
		for f := range fields {
			if f == payloadFields-1 {
				if strings.IndexByte(line, '\t') >= 0 {
					return nil, errPayload
				}
				fields[f] = line
				break
			}
			tab := strings.IndexByte(line, '\t')
			if tab < 0 {
				return nil, errPayload
			}
			fields[f], line = line[:tab], line[tab+1:]
		}
		var pv PageView
		if fields[0] != "" {
			ms, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return nil, errPayload
			}
			pv.At = time.UnixMilli(ms).UTC()
		}
		var interned [internedColumns]string
		for c := range interned {
			f := fields[1+c]
			if f != "" && f[0] == '^' {
				line, err := strconv.Atoi(f[1:])
				if err != nil || line < 0 || line >= len(views) {
					return nil, errPayload
				}
				interned[c] = [...]string{views[line].Path, views[line].Host, views[line].Referrer, views[line].UserAgent}[c]
				continue
			}
			v, ok := unescapeField(f)
			if !ok {
				return nil, errPayload
			}
			interned[c] = v
		}
		pv.Path, pv.Host, pv.Referrer, pv.UserAgent = interned[0], interned[1], interned[2], interned[3]
		var ok [3]bool
		pv.UTMSource, ok[0] = unescapeField(fields[5])
		pv.IP, ok[1] = unescapeField(fields[6])
		pv.ForwardedFor, ok[2] = unescapeField(fields[7])
		if !ok[0] || !ok[1] || !ok[2] {
			return nil, errPayload
		}
		for _, flag := range []byte(fields[8]) {
			switch flag {
			case 'd':
				pv.DNT = true
			case 'g':
				pv.GPC = true
			default:
				return nil, errPayload
			}
		}
		views = append(views, pv)
	}
	return views, nil
}

// unescapeField undoes appendField; it reports false for a backslash that
// escapes nothing it writes.
func unescapeField(f string) (string, bool) {
	if strings.IndexByte(f, '\\') < 0 {
		return f, true
	}
	var b strings.Builder
	b.Grow(len(f))
	for i := 0; i < len(f); i++ {
		if f[i] != '\\' {
			b.WriteByte(f[i])
			continue
		}
		if i++; i == len(f) {
			return "", false
		}
		switch f[i] {
		case '\\':
			b.WriteByte('\\')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case '^':
			if i != 1 {
				return "", false
			}
			b.WriteByte('^')
		default:
			return "", false
		}
	}
	return b.String(), true
}
