package comments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits are the spam rules' numbers; zero fields take the Default of each.
type Limits struct {
	// MaxLength caps a comment, in characters.
	MaxLength int
	// MaxLinks caps the links in a comment.
	MaxLinks int
	// MinFill is the least time between the form being made and sent:
	// people take longer, scripts do not.
	MinFill time.Duration
	// MaxFormAge is how long a form stays good to send.
	MaxFormAge time.Duration
	// PerReader and PerIP cap the comments sent in Window by one reader and
	// from one client address.
	PerReader, PerIP int
	Window           time.Duration
	// Duplicate is how far back the same text by the same reader on the
	// same post is refused.
	Duplicate time.Duration
	// EditFor is how long after writing it the author may edit or delete
	// a comment.
	EditFor time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxLength  = 5000
	DefaultMaxLinks   = 3
	DefaultMinFill    = 3 * time.Second
	DefaultMaxFormAge = 24 * time.Hour
	DefaultPerReader  = 5
	DefaultPerIP      = 20
	DefaultWindow     = 10 * time.Minute
	DefaultDuplicate  = 24 * time.Hour
	DefaultEditFor    = 15 * time.Minute
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxLength, DefaultMaxLength)
	def(&l.MaxLinks, DefaultMaxLinks)
	def(&l.PerReader, DefaultPerReader)
	def(&l.PerIP, DefaultPerIP)
	dur(&l.MinFill, DefaultMinFill)
	dur(&l.MaxFormAge, DefaultMaxFormAge)
	dur(&l.Window, DefaultWindow)
	dur(&l.Duplicate, DefaultDuplicate)
	dur(&l.EditFor, DefaultEditFor)
	return l
}

// stampPurpose separates the form stamps' signatures from every other use
// of the site's auth key.
const stampPurpose = "site/comments/form-stamp/v1"

// stamper signs the time a comment form was made, for one reader and one
// post, so the time it took to fill can be checked without storing
// anything: "<unix seconds>.<signature>".
type stamper struct{ key []byte }

func newStamper(authKey []byte) stamper {
	m := hmac.New(sha256.New, authKey)
	m.Write([]byte(stampPurpose))
	return stamper{key: m.Sum(nil)}
}

func (s stamper) mac(at int64, postID, userID int64) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%d|%d|%d", at, postID, userID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// make returns the stamp of a form made at t.
func (s stamper) make(t time.Time, postID, userID int64) string {
	at := t.Unix()
	return strconv.FormatInt(at, 10) + "." + s.mac(at, postID, userID)
}

// read returns the time a stamp was made; false when it is not one this
// site made for this reader and post.
func (s stamper) read(stamp string, postID, userID int64) (time.Time, bool) {
	secs, sig, ok := strings.Cut(stamp, ".")
	if !ok || len(stamp) > 64 {
		return time.Time{}, false
	}
	at, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.mac(at, postID, userID))) {
		return time.Time{}, false
	}
	return time.Unix(at, 0), true
}

// countLinks counts the links of a comment's sanitized HTML.
func countLinks(html string) int { return strings.Count(html, "<a ") }
