package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"site/app/cabundle"
	"site/embedded/objects"
	"site/embedded/replica"
	"site/internal/testkit"
)

// TestLitestreamSafety writes through the app's own pools while their
// connections open and close and passive checkpoints run, with Litestream
// replicating in the same process; the restored copy passes
// integrity_check and holds every row. With a second SQLite engine in the
// process (ncruces' OFD locks) a closing connection would drop Litestream's
// read lock and a checkpoint could overwrite frames not yet shipped.
func TestLitestreamSafety(t *testing.T) {
	if _, err := cabundle.Apply(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv := objects.NewServer()
	srv.Root, srv.Listen = filepath.Join(dir, "objects"), "127.0.0.1:0"
	srv.AccessKey, srv.SecretKey = "litestreamtest", "litestreamtestsecret"
	srv.Buckets, srv.PublicBuckets = []string{"backup"}, nil
	ctx := context.Background()
	if err := srv.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	target := replica.Target{Endpoint: srv.Endpoint(), Bucket: "backup", Path: "data.db", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}

	db := testkit.DataDB(t)
	path := db.Path
	// The app's pools, made to churn: every connection lives a few ms.
	db.Write.SetConnMaxLifetime(5 * time.Millisecond)
	db.Read.SetConnMaxLifetime(5 * time.Millisecond)
	rep := &replica.Replicator{DBPath: path, Target: target, SyncInterval: 50 * time.Millisecond}
	if err := rep.Open(ctx); err != nil {
		t.Fatal(err)
	}

	var written atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(3 * time.Second)
	errs := make(chan error, 16)
	for w := range 3 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				_, err := db.Write.Exec(`INSERT INTO processed_jobs (id, kind, done_at) VALUES (?, ?, ?)`,
					fmt.Sprintf("w%d-%d", w, i), "pageview", time.Now().UnixMilli())
				if err != nil {
					errs <- fmt.Errorf("insert: %w", err)
					return
				}
				written.Add(1)
			}
		})
	}
	wg.Go(func() {
		for time.Now().Before(stop) {
			if _, err := db.Write.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
				errs <- fmt.Errorf("checkpoint: %w", err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for time.Now().Before(stop) {
			var n int
			if err := db.Read.QueryRow(`SELECT count(*) FROM processed_jobs`).Scan(&n); err != nil {
				errs <- fmt.Errorf("read: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wstats, rstats := db.Write.Stats(), db.Read.Stats()
	if wstats.MaxLifetimeClosed == 0 || rstats.MaxLifetimeClosed == 0 {
		t.Fatalf("connections did not churn: writer closed %d, readers closed %d", wstats.MaxLifetimeClosed, rstats.MaxLifetimeClosed)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rep.Close(cctx); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "restored.db")
	if err := replica.Restore(ctx, replica.RestoreOptions{Target: target, OutputPath: out}); err != nil {
		t.Fatal(err)
	}
	restored, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	var check string
	if err := restored.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	var n int64
	if err := restored.QueryRow(`SELECT count(*) FROM processed_jobs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != written.Load() || n == 0 {
		t.Fatalf("restored %d rows, wrote %d", n, written.Load())
	}
	t.Logf("%d rows through churning pools (writer conns closed %d, reader conns closed %d); restored all", n, wstats.MaxLifetimeClosed, rstats.MaxLifetimeClosed)
}
