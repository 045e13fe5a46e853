package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// Session is one signed-in device of a user.
type Session struct {
	// ID names the session in lists and sign-out forms: the keyed hash of
	// its token, never the token itself.
	ID        string
	User      User
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
	UserAgent string
	IP        string
}

// touchEvery is how stale last_seen_at may get before a request updates
// it (and moves the idle expiry): one write a minute per session at most.
const touchEvery = time.Minute

// maxUserAgent bounds the device description kept with a session.
const maxUserAgent = 256

// NewSession opens a session for user from a device (its User-Agent and
// IP) and returns its token, the cookie's value: 256 random bits, stored
// only as a keyed hash.
func (a *Auth) NewSession(ctx context.Context, user User, userAgent, ip string) (string, error) {
	if err := a.check(); err != nil {
		return "", err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token := encodeToken(b)
	now := a.now()
	if len(userAgent) > maxUserAgent {
		userAgent = userAgent[:maxUserAgent]
	}
	if _, err := a.TTL.Write.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.hash("session", token), user.ID, now.Unix(), now.Unix(),
		a.expiry(now, now).Unix(), userAgent, ip); err != nil {
		return "", fmt.Errorf("auth: open session: %w", err)
	}
	return token, nil
}

// expiry is the sooner of the idle limit after lastSeen and the absolute
// limit after created.
func (a *Auth) expiry(created, lastSeen time.Time) time.Time {
	idle, abs := lastSeen.Add(a.sessionIdle()), created.Add(a.sessionMax())
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// Session returns the live session whose token is token, with its user,
// and records the visit (at most once per touchEvery). An unknown, ended
// or expired token, or one whose user is gone, is ErrNoSession.
func (a *Auth) Session(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 64 {
		return Session{}, ErrNoSession
	}
	if err := a.check(); err != nil {
		return Session{}, err
	}
	id := a.hash("session", token)
	now := a.now()
	s, err := a.sessionWhere(ctx, "id_hash = ? AND expires_at > ?", id, now.Unix())
	if err != nil {
		return Session{}, err
	}
	if now.Sub(s.LastSeen) >= touchEvery {
		s.LastSeen, s.ExpiresAt = now, a.expiry(s.CreatedAt, now)
		if _, err := a.TTL.Write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?`,
			now.Unix(), s.ExpiresAt.Unix(), id); err != nil {
			return Session{}, fmt.Errorf("auth: touch session: %w", err)
		}
	}
	return s, nil
}

func (a *Auth) sessionWhere(ctx context.Context, where string, args ...any) (Session, error) {
	list, err := a.sessions(ctx, where, args...)
	if err != nil {
		return Session{}, err
	}
	if len(list) == 0 {
		return Session{}, ErrNoSession
	}
	return list[0], nil
}

func (a *Auth) sessions(ctx context.Context, where string, args ...any) ([]Session, error) {
	rows, err := a.TTL.Read.QueryContext(ctx, `SELECT id_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip
		FROM sessions WHERE `+where+` ORDER BY last_seen_at DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("auth: read sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var s Session
		var created, seen, expires int64
		if err := rows.Scan(&s.ID, &s.User.ID, &created, &seen, &expires, &s.UserAgent, &s.IP); err != nil {
			return nil, fmt.Errorf("auth: read sessions: %w", err)
		}
		s.CreatedAt, s.LastSeen, s.ExpiresAt = time.Unix(created, 0), time.Unix(seen, 0), time.Unix(expires, 0)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth: read sessions: %w", err)
	}
	live := out[:0]
	for _, s := range out {
		u, err := a.UserByID(ctx, s.User.ID)
		if errors.Is(err, ErrNoSession) {
			continue // the user is gone: the session no longer stands
		}
		if err != nil {
			return nil, err
		}
		s.User = u
		live = append(live, s)
	}
	return live, nil
}

// Sessions lists the user's live sessions, the most recently seen first.
func (a *Auth) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	return a.sessions(ctx, "user_id = ? AND expires_at > ?", userID, a.now().Unix())
}

// EndSession signs out the user's session whose ID is id; another user's
// session id ends nothing.
func (a *Auth) EndSession(ctx context.Context, userID int64, id string) error {
	if _, err := a.TTL.Write.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ? AND user_id = ?`, id, userID); err != nil {
		return fmt.Errorf("auth: end session: %w", err)
	}
	return nil
}

// EndSessions signs the user out everywhere.
func (a *Auth) EndSessions(ctx context.Context, userID int64) error {
	if _, err := a.TTL.Write.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("auth: end sessions: %w", err)
	}
	return nil
}

// TokenID is the ID (Session.ID) of the session a token opens, so a
// handler can tell the current session in a list.
func (a *Auth) TokenID(token string) string { return a.hash("session", token) }
