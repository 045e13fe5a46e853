package auth

import (
	"context"
	"fmt"
	"time"
)

// Rate limits of sign-in, per window. A client is its IP address as
// analytics.ClientIP reads it (X-Forwarded-For only from trusted proxies).
const (
	codesPerAddress   = 5  // codes sent to one address
	codesPerClient    = 20 // codes asked for by one client
	verifiesPerClient = 30 // codes or links tried by one client
	limitWindow       = 15 * time.Minute
)

// allow counts one event under key in a fixed window of ttl.db's
// rate_limits and reports whether it is within limit.
func (a *Auth) allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	now := a.now().Unix()
	var n int
	err := a.TTL.Write.QueryRowContext(ctx, `INSERT INTO rate_limits (key, count, expires_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN expires_at <= ? THEN 1 ELSE count + 1 END,
			expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END
		RETURNING count`, key, now+int64(window/time.Second), now, now).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("auth: rate limit %s: %w", key, err)
	}
	return n <= limit, nil
}

// allowAll checks every key (each is counted, whatever the others say).
func (a *Auth) allowAll(ctx context.Context, limits ...limit) error {
	ok := true
	for _, l := range limits {
		within, err := a.allow(ctx, l.key, l.n, limitWindow)
		if err != nil {
			return err
		}
		ok = ok && within
	}
	if !ok {
		return ErrRateLimited
	}
	return nil
}

// Allow counts one event under key (name it by its feature, e.g.
// "comments:ip:192.0.2.1") in a fixed window of ttl.db's rate_limits and
// reports whether it is within limit; for other features' limits.
func (a *Auth) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	return a.allow(ctx, key, limit, window)
}

type limit struct {
	key string
	n   int
}
