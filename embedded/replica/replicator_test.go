package replica_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/litestream"
	lss3 "github.com/benbjohnson/litestream/s3"

	"site/embedded/replica"
	"site/internal/testkit"
)

// Rows written and synced are in a restore, and the restore is sound.
func TestReplicateAndRestore(t *testing.T) {
	path, db := MustCreateDB(t)
	target := newTarget(t)
	r := MustOpenReplicator(t, path, target, time.Second)

	want := seq("row", 50)
	insert(t, db, want...)
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}

	out := MustRestore(t, target, time.Time{})
	mustIntegrityOK(t, out)
	if got := names(t, out); !slices.Equal(got, want) {
		t.Fatalf("restored %d rows %v, want %d", len(got), got, len(want))
	}
}

// Close ships what was committed since the last sync, with no Sync call.
func TestCloseDoesFinalSync(t *testing.T) {
	path, db := MustCreateDB(t)
	target := newTarget(t)
	// An hour: nothing is shipped in the background during the test.
	r := MustOpenReplicator(t, path, target, time.Hour)

	// Litestream writes a snapshot about a second after Open (once the
	// database is initialised); wait for it so it cannot carry the rows.
	testkit.WaitFor(t, time.Minute, "Litestream's first snapshot in the replica", func() bool {
		return len(levelKeys(t, target, litestream.SnapshotLevel)) > 0
	})

	want := seq("late", 20)
	insert(t, db, want...)
	if got := names(t, MustRestore(t, target, time.Time{})); len(got) != 0 {
		t.Fatalf("rows reached the replica before Close: %v", got)
	}
	if err := db.Close(); err != nil { // the application closes first
		t.Fatal(err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(t.Context()); !errors.Is(err, replica.ErrClosed) {
		t.Fatalf("Sync after Close: %v, want ErrClosed", err)
	}

	out := MustRestore(t, target, time.Time{})
	mustIntegrityOK(t, out)
	if got := names(t, out); !slices.Equal(got, want) {
		t.Fatalf("restored %v, want %v", got, want)
	}
}

// Connections that open and close all the time, concurrent writers and
// passive checkpoints lose no WAL frame: with one SQLite engine in the
// process, closing an application connection does not drop Litestream's
// POSIX read lock, so no checkpoint overwrites frames not yet replicated.
func TestNoFramesLostWhileConnectionsChurn(t *testing.T) {
	path, db := MustCreateDB(t)
	db.SetMaxIdleConns(0) // every connection is closed after each use
	db.SetMaxOpenConns(4)
	target := newTarget(t)
	r := MustOpenReplicator(t, path, target, 50*time.Millisecond)

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
	defer cancel()
	var (
		wg         sync.WaitGroup
		ok, failed atomic.Int64
		checkpts   atomic.Int64
	)
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				_, err := db.Exec(`INSERT INTO items (name) VALUES (?)`, strings.Repeat("x", 100+w*37+i%200))
				if err != nil {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Go(func() {
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err == nil {
				checkpts.Add(1)
			}
		}
	})
	wg.Wait()

	source := count(t, db)
	if int64(source) != ok.Load() {
		t.Fatalf("source has %d rows, %d inserts succeeded", source, ok.Load())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	closeCtx, cancelClose := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancelClose()
	if err := r.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	mustIntegrityOK(t, path)

	out := MustRestore(t, target, time.Time{})
	mustIntegrityOK(t, out)
	restored := count(t, MustOpenDB(t, out))
	t.Logf("%d rows (%d failed inserts), %d passive checkpoints; restored %d", source, failed.Load(), checkpts.Load(), restored)
	if source < 200 {
		t.Fatalf("only %d rows written; the test proves little", source)
	}
	if restored != source {
		t.Fatalf("restored %d rows, source has %d", restored, source)
	}
}

// Close gives up when its context ends, even if the replica never answers.
func TestCloseRespectsContext(t *testing.T) {
	// A proxy in front of the S3 server that can be made to hang.
	up, err := url.Parse(s3Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var hang atomic.Bool
	release := make(chan struct{})
	proxy := httputil.NewSingleHostReverseProxy(up)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if hang.Load() {
			// Read the body so the server notices a client that gives up.
			_, _ = io.Copy(io.Discard, req.Body)
			select {
			case <-req.Context().Done():
			case <-release:
			}
			return
		}
		proxy.ServeHTTP(w, req)
	}))
	defer srv.Close()
	defer close(release)

	path, db := MustCreateDB(t)
	target := newTarget(t)
	target.Endpoint = srv.URL
	r := &replica.Replicator{DBPath: path, Target: target, SyncInterval: time.Hour, Logger: testLogger(t)}
	if err := r.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	insert(t, db, "unsent")
	_ = db.Close()

	hang.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err = r.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s with a 2s context", d)
	}
	// A second Close waits for the background release, which ends quickly
	// now that the final sync's context is over.
	wait, cancelWait := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancelWait()
	if err := r.Close(wait); errors.Is(err, context.DeadlineExceeded) && wait.Err() != nil {
		t.Fatalf("second Close did not finish: %v", err)
	}
}

// With AWS_CA_BUNDLE still set, Open and Restore refuse with a clear error
// instead of Litestream failing deep inside the AWS SDK.
func TestAWSCABundleRefused(t *testing.T) {
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	path, _ := MustCreateDB(t)
	target := newTarget(t)
	t.Setenv(replica.EnvCABundle, bundle)

	r := &replica.Replicator{DBPath: path, Target: target, Logger: testLogger(t)}
	err := r.Open(t.Context())
	if !errors.Is(err, replica.ErrCABundle) || !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
		t.Fatalf("Open: %v, want ErrCABundle naming AWS_CA_BUNDLE", err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatalf("Close after failed Open: %v", err)
	}

	err = replica.Restore(t.Context(), replica.RestoreOptions{Target: target, OutputPath: path + ".restored"})
	if !errors.Is(err, replica.ErrCABundle) {
		t.Fatalf("Restore: %v, want ErrCABundle", err)
	}

	// The failure mode being guarded: Litestream's own client, untouched.
	t.Run("LitestreamFailsWithoutTheGuard", func(t *testing.T) {
		c := lss3.NewReplicaClient()
		c.Bucket, c.Path, c.Region = target.Bucket, target.Path, replica.DefaultRegion
		c.Endpoint, c.ForcePathStyle = target.Endpoint, true
		c.AccessKeyID, c.SecretAccessKey = target.AccessKey, target.SecretKey
		err := c.Init(t.Context())
		if err == nil || !strings.Contains(err.Error(), "RootCAs") {
			t.Fatalf("litestream s3 Init with %s set: %v; if Litestream now copes, the guard in Open can go", replica.EnvCABundle, err)
		}
		t.Logf("litestream without the guard: %v", err)
	})
}

// Open reports a bad target at once rather than logging in the background.
func TestOpenBadTarget(t *testing.T) {
	path, _ := MustCreateDB(t)
	target := newTarget(t)
	target.Bucket = "no-such-bucket"
	r := &replica.Replicator{DBPath: path, Target: target, Logger: testLogger(t)}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := r.Open(ctx); err == nil {
		_ = r.Close(ctx)
		t.Fatal("Open succeeded on a missing bucket")
	} else {
		t.Logf("Open: %v", err)
	}

	r = &replica.Replicator{DBPath: "relative.db", Target: newTarget(t)}
	if err := r.Open(t.Context()); err == nil {
		t.Fatal("Open accepted a relative path")
	}
}

// TestPosition: after a sync the replica holds the database's last
// transaction (no lag) and the last sync is dated; a write not yet synced
// shows as lag.
func TestPosition(t *testing.T) {
	path, db := MustCreateDB(t)
	defer db.Close()
	r := &replica.Replicator{DBPath: path, Target: newTarget(t), SyncInterval: time.Hour, Logger: testLogger(t)}
	if _, err := r.Position(); !errors.Is(err, replica.ErrNotOpen) {
		t.Fatalf("Position before Open: %v", err)
	}
	if err := r.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.Close(t.Context())
	insert(t, db, "first")
	if err := r.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	p, err := r.Position()
	if err != nil || p.LocalTXID == 0 || p.ReplicaTXID != p.LocalTXID || p.Lag() != 0 || p.LastSync.IsZero() {
		t.Fatalf("after a sync: %+v %v", p, err)
	}
	if lagged := (replica.Position{LocalTXID: 9, ReplicaTXID: 7}); lagged.Lag() != 2 {
		t.Fatalf("lag of %+v = %d", lagged, lagged.Lag())
	}
}
