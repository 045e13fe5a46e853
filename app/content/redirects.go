package content

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Redirect returns the path the site's old path now lives at, or "" when
// nothing moved from there.
func (s *Store) Redirect(ctx context.Context, path string) (string, error) {
	var to string
	err := s.DB.Read.QueryRowContext(ctx, `SELECT to_path FROM redirects WHERE from_path = ?`, path).Scan(&to)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("redirect %s: %w", path, err)
	}
	return to, nil
}

// moveRedirects records that the entry at from now lives at to: every
// redirect to from goes straight to to (chains collapse), from itself
// redirects to to when readers could see the entry there (keep), and the
// entry takes to.
func moveRedirects(ctx context.Context, tx *sql.Tx, from, to string, keep bool, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE redirects SET to_path = ? WHERE to_path = ?`, to, from); err != nil {
		return fmt.Errorf("redirects to %s: %w", from, err)
	}
	if keep {
		if _, err := tx.ExecContext(ctx, `INSERT INTO redirects (from_path, to_path, created_at) VALUES (?, ?, ?)
			ON CONFLICT (from_path) DO UPDATE SET to_path = excluded.to_path, created_at = excluded.created_at`,
			from, to, now.Unix()); err != nil {
			return fmt.Errorf("redirect %s: %w", from, err)
		}
	}
	return takePath(ctx, tx, to)
}

// takePath removes the redirect from path: an entry answers there now.
func takePath(ctx context.Context, tx *sql.Tx, path string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM redirects WHERE from_path = ?`, path); err != nil {
		return fmt.Errorf("redirect from %s: %w", path, err)
	}
	return nil
}
