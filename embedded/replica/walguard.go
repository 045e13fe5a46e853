package replica

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// noLocalState is walMoved's reason when replication never ran here (a new
// or restored data.db): the first sync is a full snapshot anyway.
const noLocalState = "no local replication state to resume from"

// walHeaderSize is the size of a SQLite WAL header; its salts are bytes 16-24.
const walHeaderSize = 32

// walMoved tells whether the WAL of db no longer continues where
// replication last stopped, and why. Litestream resumes from the WAL offset
// recorded in its last local LTX file. If the WAL was restarted meanwhile
// (its salts changed: another process checkpointed it and wrote on, or the
// last connection closed), the frames written between that offset and the
// restart are in the database file only; Litestream v0.5.18 can still find
// its last frame intact beyond the new generation's end and carry on from
// the WAL's start, so those pages never reach the replica and every later
// point restores corrupt. The same goes when there is no local state to
// compare with. An empty reason means the WAL continues the replica.
func walMoved(db *litestream.DB) (reason string, err error) {
	minTXID, maxTXID, err := db.MaxLTX()
	if err != nil {
		return "", fmt.Errorf("last local ltx file: %w", err)
	}
	if maxTXID == 0 {
		return noLocalState, nil
	}
	f, err := os.Open(db.LTXPath(0, minTXID, maxTXID))
	if err != nil {
		return "", fmt.Errorf("last local ltx file: %w", err)
	}
	defer f.Close()
	dec := ltx.NewDecoder(f)
	if err := dec.DecodeHeader(); err != nil {
		return fmt.Sprintf("last local ltx file %s unreadable (%v)", maxTXID, err), nil
	}
	last := dec.Header()

	hdr := make([]byte, walHeaderSize)
	w, err := os.Open(db.WALPath())
	if errors.Is(err, os.ErrNotExist) {
		return "the WAL was removed", nil
	} else if err != nil {
		return "", fmt.Errorf("read wal header: %w", err)
	}
	defer w.Close()
	if _, err := io.ReadFull(w, hdr); err != nil {
		return "the WAL was emptied", nil
	}
	salt1, salt2 := binary.BigEndian.Uint32(hdr[16:]), binary.BigEndian.Uint32(hdr[20:])
	if salt1 != last.WALSalt1 || salt2 != last.WALSalt2 {
		return fmt.Sprintf("the WAL was restarted after txid %s (salts %08x%08x, were %08x%08x)",
			maxTXID, salt1, salt2, last.WALSalt1, last.WALSalt2), nil
	}
	return "", nil
}

// truncateWAL copies every frame of the WAL at dbPath into the database
// file and empties the WAL (PRAGMA wal_checkpoint(TRUNCATE)), waiting up to
// a minute for other processes' transactions to let it. Litestream, started
// next, then finds no frame it could mistake for its own and begins with a
// full snapshot of the database.
func truncateWAL(ctx context.Context, dbPath string) error {
	dsn := &url.URL{Scheme: "file", Path: dbPath, RawQuery: "_pragma=busy_timeout(5000)"} // '?' or '#' stay in the path
	db, err := sql.Open("sqlite", dsn.String())
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		var busy, logFrames, done int
		if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("checkpoint wal: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("checkpoint wal: still busy after a minute of retries")
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
