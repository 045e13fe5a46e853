package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/andybalholm/brotli"
)

// maxCached bounds the number of pages kept; past it the cache starts over.
const maxCached = 4096

// entry is a response ready to send: the body, its compressed forms and
// the headers that describe it.
type entry struct {
	body, gz, br []byte
	etag         string // strong, quoted, of the identity body
	contentType  string
	cacheControl string
	code         int
	// html marks reader-facing pages, whose views are tracked.
	html bool
	// The forms send writes, and the header values common to them.
	identity, gzForm, brForm              form
	contentTypeHeader, cacheControlHeader []string
}

// newEntry compresses body when it is worth it, in every encoding a cached
// entry may be asked for, and computes its ETag.
func newEntry(code int, contentType, cacheControl string, body []byte, html bool) *entry {
	return newEntryFor(nil, code, contentType, cacheControl, body, html)
}

// newEntryFor is newEntry for an entry sent once, to r alone (a page built
// for a signed-in reader, search results, a group's page): it is
// compressed only in the encoding r accepts, not in both, which for a
// large page is most of the time it takes to build. A nil r makes both.
func newEntryFor(r *http.Request, code int, contentType, cacheControl string, body []byte, html bool) *entry {
	sum := sha256.Sum256(body)
	e := &entry{body: body, etag: `"` + hex.EncodeToString(sum[:10]) + `"`, contentType: contentType,
		cacheControl: cacheControl, code: code, html: html}
	makeBr, makeGz := true, true
	if r != nil {
		switch encoding(r, &entry{br: []byte{}, gz: []byte{}}) {
		case "br":
			makeGz = false
		case "gzip":
			makeBr = false
		default:
			makeBr, makeGz = false, false
		}
	}
	if len(body) >= 512 && compressible(contentType) && makeGz {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if gz.Len() < len(body) {
			e.gz = gz.Bytes()
		}
	}
	if len(body) >= 512 && compressible(contentType) && makeBr {
		var br bytes.Buffer
		bw := brotli.NewWriterLevel(&br, 6)
		_, _ = bw.Write(body)
		_ = bw.Close()
		if br.Len() < len(body) {
			e.br = br.Bytes()
		}
	}
	base := strings.TrimSuffix(e.etag, `"`)
	e.identity = newForm(e.body, e.etag, "")
	e.gzForm = newForm(e.gz, base+`-gz"`, "gzip")
	e.brForm = newForm(e.br, base+`-br"`, "br")
	e.contentTypeHeader, e.cacheControlHeader = []string{contentType}, []string{cacheControl}
	return e
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") ||
		strings.Contains(ct, "javascript") || strings.HasPrefix(ct, "image/svg")
}

// encoding picks br, gzip or identity from Accept-Encoding, honouring q=0.
func encoding(r *http.Request, e *entry) string {
	ae := r.Header.Get("Accept-Encoding")
	if ae == "" {
		return ""
	}
	accepts := func(name string) bool {
		for part := range strings.SplitSeq(ae, ",") {
			token, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(token), name) {
				continue
			}
			params = strings.ReplaceAll(params, " ", "")
			return !(params == "q=0" || params == "q=0.0" || params == "q=0.00" || params == "q=0.000")
		}
		return false
	}
	if e.br != nil && accepts("br") {
		return "br"
	}
	if e.gz != nil && accepts("gzip") {
		return "gzip"
	}
	return ""
}

// notModified reports whether If-None-Match names the entry's ETag, in any
// of its encodings.
func notModified(r *http.Request, e *entry) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false
	}
	base := strings.TrimSuffix(e.etag, `"`)
	for tag := range strings.SplitSeq(inm, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == e.etag || tag == base+`-br"` || tag == base+`-gz"` {
			return true
		}
	}
	return false
}

// send writes the entry, compressed when the client accepts it, or a 304.
// It reports whether the reader got the page (200 or 304). Header values
// are the entry's prepared slices (see form), so a hit allocates none.
func send(w http.ResponseWriter, r *http.Request, e *entry) bool {
	h := w.Header()
	f := &e.identity
	if e.gz != nil || e.br != nil {
		h["Vary"] = headerVaryEncoding
		switch encoding(r, e) {
		case "br":
			f = &e.brForm
		case "gzip":
			f = &e.gzForm
		}
	}
	h["Etag"] = f.etag
	if e.cacheControl != "" {
		h["Cache-Control"] = e.cacheControlHeader
	}
	if e.code == http.StatusOK && notModified(r, e) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	if f.contentEncoding != nil {
		h["Content-Encoding"] = f.contentEncoding
	}
	h["Content-Type"] = e.contentTypeHeader
	h["Content-Length"] = f.contentLength
	w.WriteHeader(e.code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(f.body)
	}
	return e.code == http.StatusOK
}

// headerVaryEncoding is the Vary value of a page sent in several encodings.
var headerVaryEncoding = []string{"Accept-Encoding"}

// form is one encoding of an entry with its header values, made once. Each
// value slice has capacity one, so a handler's Add never writes into it.
type form struct {
	body            []byte
	etag            []string
	contentLength   []string
	contentEncoding []string // nil for identity
}

func newForm(body []byte, etag, encoding string) form {
	f := form{body: body, etag: []string{etag}, contentLength: []string{itoa(len(body))}}
	if encoding != "" {
		f.contentEncoding = []string{encoding}
	}
	return f
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// pageCache keeps rendered responses in memory. It is emptied when the
// content version in data.db changes (any writer, any process: triggers
// keep it) and when the next scheduled entry's time comes, so scheduled
// posts appear on time without a restart. The version is read at most
// once per interval; Invalidate empties the cache at once.
type pageCache struct {
	// version reads the content version; nextPublish the next scheduled time.
	version     func(ctx context.Context) (int64, error)
	nextPublish func(ctx context.Context) (time.Time, error)
	interval    time.Duration
	now         func() time.Time

	checkUntil atomic.Int64 // Unix nanoseconds until which entries are known fresh

	mu      sync.RWMutex
	entries map[string]*entry
	gen     uint64 // goes up each time the cache is emptied
	ver     int64
	next    time.Time
	refresh sync.Mutex
}

func newPageCache(interval time.Duration, version func(context.Context) (int64, error), next func(context.Context) (time.Time, error)) *pageCache {
	return &pageCache{version: version, nextPublish: next, interval: interval, now: time.Now, entries: map[string]*entry{}}
}

// get returns the fresh entry of key, or nil, and the generation a new
// entry rendered now must be put with.
func (c *pageCache) get(ctx context.Context, key string) (*entry, uint64) {
	if c.now().UnixNano() >= c.checkUntil.Load() {
		c.check(ctx)
	}
	c.mu.RLock()
	e, gen := c.entries[key], c.gen
	c.mu.RUnlock()
	return e, gen
}

// check reads the content version and empties the cache when it moved or
// when a scheduled entry has come out.
func (c *pageCache) check(ctx context.Context) {
	c.refresh.Lock()
	defer c.refresh.Unlock()
	now := c.now()
	if now.UnixNano() < c.checkUntil.Load() {
		return
	}
	v, err := c.version(ctx)
	if err != nil {
		c.clear()
		return // try again at the next request; serve uncached meanwhile
	}
	next, err := c.nextPublish(ctx)
	if err != nil {
		c.clear()
		return
	}
	c.mu.Lock()
	if v != c.ver || (!c.next.IsZero() && !now.Before(c.next)) {
		c.entries = map[string]*entry{}
		c.gen++
	}
	c.ver, c.next = v, next
	c.mu.Unlock()
	until := now.Add(c.interval)
	if !next.IsZero() && next.Before(until) {
		until = next
	}
	c.checkUntil.Store(until.UnixNano())
}

// put keeps e under key, unless the cache was emptied since gen: then e
// may have been rendered from content older than the cache.
func (c *pageCache) put(key string, e *entry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= maxCached {
		c.entries = map[string]*entry{}
	}
	c.entries[key] = e
}

// clear empties the cache and makes the next get re-read the version.
func (c *pageCache) clear() {
	c.mu.Lock()
	c.entries = map[string]*entry{}
	c.gen++
	c.mu.Unlock()
	c.checkUntil.Store(0)
}
