package analytics

import (
	"context"
	"database/sql"
	"sync"

	"site/app/jobs"
)

// The statements of the recorder.
const (
	sqlMarkDone = jobs.SQLMarkDone
	sqlVisitor  = `INSERT INTO daily_visitors (day, visitor) VALUES (?, ?) ON CONFLICT DO NOTHING`
	sqlViewLog  = `INSERT INTO page_view_batches (job_id, base_at, views, strings, log) VALUES (?, ?, ?, ?, ?)`
)

// statements are prepared once on the writer pool and used in each
// transaction through Tx.StmtContext, which reuses the connection's
// prepared statement.
type statements struct {
	mu                         sync.Mutex
	markDone, visitor, viewLog *sql.Stmt
}

// prepare makes the statements if they are not yet; call it outside a
// transaction (the writer has one connection).
func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.markDone != nil {
		return nil
	}
	var made []*sql.Stmt
	for _, q := range []string{sqlMarkDone, sqlVisitor, sqlViewLog} {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			for _, st := range made {
				st.Close()
			}
			return err
		}
		made = append(made, st)
	}
	s.markDone, s.visitor, s.viewLog = made[0], made[1], made[2]
	return nil
}

// txStatements are the statements bound to one transaction.
type txStatements struct {
	markDone, visitor, viewLog *sql.Stmt
}

// in binds the prepared statements to tx; they close with it.
func (s *statements) in(ctx context.Context, tx *sql.Tx) txStatements {
	s.mu.Lock()
	defer s.mu.Unlock()
	return txStatements{markDone: tx.StmtContext(ctx, s.markDone), visitor: tx.StmtContext(ctx, s.visitor),
		viewLog: tx.StmtContext(ctx, s.viewLog)}
}
