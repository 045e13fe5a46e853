package analytics

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// SaltLifetime is how long a day's salt is kept; after it, visitor ids of
// that day cannot be recomputed from an IP and user agent.
const SaltLifetime = 48 * time.Hour

// salts hands out the secret salt of each UTC day, creating it in data.db
// on first use (every worker agrees on the row that won), and deletes salts
// and daily visitor lists older than SaltLifetime.
type salts struct {
	mu        sync.Mutex
	byDay     map[string][]byte
	lastPrune string
}

// dayOf is the UTC date of t.
func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// get returns the salt of day inside tx, or nil when day is older than the
// salts still kept (a view that waited more than SaltLifetime). A salt read
// or made in tx is remembered in st until keep is told the tx committed.
func (s *salts) get(ctx context.Context, tx *sql.Tx, st *txState, day string, now time.Time) ([]byte, error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil || now.Sub(d) > SaltLifetime {
		return nil, nil
	}
	if salt, ok := st.salts[day]; ok {
		return salt, nil
	}
	s.mu.Lock()
	salt, ok := s.byDay[day]
	s.mu.Unlock()
	if ok {
		return salt, nil
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	if _, err := tx.ExecContext(ctx, `INSERT INTO visitor_salts (day, salt, created_at) VALUES (?, ?, ?)
		ON CONFLICT (day) DO NOTHING`, day, fresh, now.Unix()); err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT salt FROM visitor_salts WHERE day = ?`, day).Scan(&salt); err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	st.salts[day] = salt
	return salt, nil
}

// keep remembers the salts of a committed transaction.
func (s *salts) keep(m map[string][]byte) {
	if len(m) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byDay == nil {
		s.byDay = map[string][]byte{}
	}
	for day, salt := range m {
		s.byDay[day] = salt
	}
}

// prune deletes salts and visitor lists older than SaltLifetime, at most
// once per day per process, and forgets them in memory.
func (s *salts) prune(ctx context.Context, tx *sql.Tx, now time.Time) error {
	today := dayOf(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastPrune == today {
		return nil
	}
	cut := now.Add(-SaltLifetime)
	if _, err := tx.ExecContext(ctx, `DELETE FROM visitor_salts WHERE created_at < ?`, cut.Unix()); err != nil {
		return fmt.Errorf("prune salts: %w", err)
	}
	// A day no longer gets visitor ids once it began more than
	// SaltLifetime ago; its list of visitors goes then.
	oldest := dayOf(cut)
	if _, err := tx.ExecContext(ctx, `DELETE FROM daily_visitors WHERE day < ?`, oldest); err != nil {
		return fmt.Errorf("prune visitors: %w", err)
	}
	for day := range s.byDay {
		if day < oldest {
			delete(s.byDay, day)
		}
	}
	s.lastPrune = today
	return nil
}

// visitorID is the cookieless id of a reader on a day: a hash of the
// day's salt, the site, the IP and the user agent.
func visitorID(salt []byte, site string, ip netip.Addr, ua string) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte{0})
	h.Write([]byte(site))
	h.Write([]byte{0})
	b, _ := ip.MarshalBinary()
	h.Write(b)
	h.Write([]byte{0})
	h.Write([]byte(ua))
	return hex.EncodeToString(h.Sum(nil)[:12])
}
