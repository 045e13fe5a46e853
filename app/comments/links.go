package comments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// Actions a signed link may carry: the four of moderation, on a comment,
// and unsubscribe, on a reader.
const (
	ActionApprove     = "approve"
	ActionReject      = "reject"
	ActionDelete      = "delete"
	ActionBan         = "ban"
	ActionUnsubscribe = "unsubscribe"
)

// Lifetimes of signed links: a moderation link is for the mail's week; an
// unsubscribe link must still work when an old reply notice is found.
const (
	ModerationLinkTTL  = 7 * 24 * time.Hour
	UnsubscribeLinkTTL = 365 * 24 * time.Hour
)

// Paths of the pages signed links open.
const (
	ModeratePath    = "/comments/moderate"
	UnsubscribePath = "/comments/unsubscribe"
)

// Errors of Verify: a link altered, cut or signed with another key is
// ErrLinkTampered (403); an intact one past its time is ErrLinkExpired (410).
var (
	ErrLinkTampered = errors.New("this link is not valid: it was changed, cut short, or made for another site")
	ErrLinkExpired  = errors.New("this link has expired")
)

// linkPurpose separates the links' signatures from every other use of the
// data dir's auth.key.
const linkPurpose = "site/comments/signed-link/v1"

// Signer signs and checks the one-click links of the admins' mails
// (moderation) and the readers' (unsubscribe): HMAC-SHA256, keyed with a key
// derived from the data dir's auth.key, over the action, the id (a comment's,
// or a reader's for unsubscribe) and the expiry. Nothing is stored: a link
// is valid while its signature checks and its time has not passed; a
// changed auth.key voids every link sent.
type Signer struct {
	// Key is the site's sign-in key (auth.Auth.Key), at least 16 bytes.
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Link is what a signed link says: do Action on ID, until Expires.
type Link struct {
	Action  string
	ID      int64
	Expires time.Time
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// mac is the signature of (action, id, expiry) in base64url.
func (s *Signer) mac(action string, id, expires int64) string {
	sub := hmac.New(sha256.New, s.Key)
	sub.Write([]byte(linkPurpose))
	m := hmac.New(sha256.New, sub.Sum(nil))
	fmt.Fprintf(m, "%s\x00%d\x00%d", action, id, expires)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// lifetime is how long a link of action lives.
func lifetime(action string) time.Duration {
	if action == ActionUnsubscribe {
		return UnsubscribeLinkTTL
	}
	return ModerationLinkTTL
}

// Sign returns the query of a link doing action on id, valid for the
// action's lifetime from now: a (action), id, exp (Unix seconds), sig.
func (s *Signer) Sign(action string, id int64) url.Values {
	exp := s.now().Add(lifetime(action)).Unix()
	return url.Values{
		"a":   {action},
		"id":  {strconv.FormatInt(id, 10)},
		"exp": {strconv.FormatInt(exp, 10)},
		"sig": {s.mac(action, id, exp)},
	}
}

// URL is the absolute link of action on id below base (the site's URL):
// ModeratePath for the moderation actions, UnsubscribePath for unsubscribe.
func (s *Signer) URL(base, action string, id int64) string {
	p := ModeratePath
	if action == ActionUnsubscribe {
		p = UnsubscribePath
	}
	return base + p + "?" + s.Sign(action, id).Encode()
}

// Verify checks a link's query: ErrLinkTampered when any part is missing,
// malformed or does not match its signature (the action included: an
// approve link's signature does not delete), ErrLinkExpired when intact but
// past its time.
func (s *Signer) Verify(q url.Values) (Link, error) {
	action, idText, expText, sig := q.Get("a"), q.Get("id"), q.Get("exp"), q.Get("sig")
	switch action {
	case ActionApprove, ActionReject, ActionDelete, ActionBan, ActionUnsubscribe:
	default:
		return Link{}, ErrLinkTampered
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != idText {
		return Link{}, ErrLinkTampered
	}
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != expText {
		return Link{}, ErrLinkTampered
	}
	if len(s.Key) < 16 || !hmac.Equal([]byte(sig), []byte(s.mac(action, id, exp))) {
		return Link{}, ErrLinkTampered
	}
	l := Link{Action: action, ID: id, Expires: time.Unix(exp, 0)}
	if !s.now().Before(l.Expires) {
		return l, ErrLinkExpired
	}
	return l, nil
}
