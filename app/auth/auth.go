// Package auth is sign-in: users known by a verified email address or
// phone number, one-time codes and sign-in links delivered as jobs.notify
// messages, sessions in ttl.db, and the rate limits that guard them.
// Codes, links and session ids are stored only as keyed hashes.
package auth

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"site/app/jobs"
	"site/app/store"
)

// Errors the sign-in steps return. Each is safe to show: none says whether
// an address is known.
var (
	// ErrBadAddress: not an email address or an E.164 phone number.
	ErrBadAddress = errors.New("auth: not an email address or a phone number in international form (+15551234567)")
	// ErrRateLimited: too many attempts for this address or client; wait.
	ErrRateLimited = errors.New("auth: too many attempts; wait a few minutes and try again")
	// ErrBadCode: the code or link is wrong, used, expired or locked.
	ErrBadCode = errors.New("auth: that code is not valid (wrong, used or expired); ask for a new one")
	// ErrNoSession: no session, or it ended or expired.
	ErrNoSession = errors.New("auth: not signed in")
)

// Defaults of Auth's limits.
const (
	DefaultCodeTTL     = 10 * time.Minute
	DefaultMaxAttempts = 5
	DefaultSessionIdle = 14 * 24 * time.Hour
	DefaultSessionMax  = 90 * 24 * time.Hour
)

// Auth holds the stores, secrets and limits of sign-in.
type Auth struct {
	// Data holds users; TTL holds codes, sessions and rate-limit counters.
	Data, TTL *store.DB
	// Key keys the hashes of codes, links and session ids (32 random
	// bytes kept with the site's secrets): a copy of ttl.db alone lets no
	// one sign in.
	Key []byte
	// Send hands a message to the worker (a jobs.notify job); dedupe names
	// it so a retried publish sends it once.
	Send func(ctx context.Context, n jobs.NotifyJob, dedupe string) error
	// SiteName and SiteURL are used in the messages (the sign-in link).
	SiteName, SiteURL string
	// CodeTTL, MaxAttempts, SessionIdle and SessionMax are the limits;
	// zero means the Default of each.
	CodeTTL                 time.Duration
	MaxAttempts             int
	SessionIdle, SessionMax time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (a *Auth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Auth) codeTTL() time.Duration     { return cmp.Or(a.CodeTTL, DefaultCodeTTL) }
func (a *Auth) sessionIdle() time.Duration { return cmp.Or(a.SessionIdle, DefaultSessionIdle) }
func (a *Auth) sessionMax() time.Duration  { return cmp.Or(a.SessionMax, DefaultSessionMax) }
func (a *Auth) maxAttempts() int           { return cmp.Or(a.MaxAttempts, DefaultMaxAttempts) }

// hash is the keyed hash (HMAC-SHA256) of a secret in its purpose, hex.
func (a *Auth) hash(purpose string, parts ...string) string {
	m := hmac.New(sha256.New, a.Key)
	m.Write([]byte(purpose))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// check reports a missing dependency as an error rather than a panic.
func (a *Auth) check() error {
	if a.Data == nil || a.TTL == nil || len(a.Key) < 16 {
		return fmt.Errorf("auth: Data, TTL and a Key of at least 16 bytes are required")
	}
	return nil
}
