package backup_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"site/app/backup"
	"site/app/backup/backuptest"
	"site/app/store"
	"site/embedded/replica"
	"site/internal/testkit"
)

// TestReplicaCheckFindsMismatch checks a data.db against its own replica
// (passes), then against the replica of another database with fewer rows,
// as a replica missing writes would be: the check fails naming the table,
// the forced snapshot cannot mend it, the alert says the replica still
// fails, Err reports the degraded state, and both results are recorded.
func TestReplicaCheckFindsMismatch(t *testing.T) {
	ctx := context.Background()
	src := backuptest.MustSource(t)
	live := mustReplicatedDB(t, src, "live.db", 3)
	other := mustReplicatedDB(t, src, "other.db", 1)

	var alerts []string
	c := &backup.ReplicaCheck{
		Target: live.target, Live: live.db.Read,
		Record: func(ctx context.Context, r backup.VerifyResult) error {
			return backup.RecordVerify(ctx, live.db.Write, r)
		},
		Sync: live.rep.Sync, Snapshot: live.rep.Snapshot,
		Alert:      func(_ context.Context, msg string) { alerts = append(alerts, msg) },
		ScratchDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
	}
	if res := c.CheckAndRepair(ctx); !res.OK || c.Err(ctx) != nil || len(alerts) != 0 {
		t.Fatalf("own replica: ok %v, %q, err %v, alerts %q", res.OK, res.Message, c.Err(ctx), alerts)
	}

	c.Target, c.Sync, c.Snapshot = other.target, other.rep.Sync, other.rep.Snapshot
	res := c.CheckAndRepair(ctx)
	if res.OK || !strings.Contains(res.Message, "items has 1 rows, live 3..3") {
		t.Fatalf("other replica: ok %v, %q", res.OK, res.Message)
	}
	if len(alerts) != 1 || !strings.Contains(alerts[0], "a fresh snapshot was written and the replica still fails") {
		t.Errorf("alerts %q", alerts)
	}
	if err := c.Err(ctx); err == nil || !strings.HasPrefix(err.Error(), "degraded: the replica failed its restore check") {
		t.Errorf("Err = %v", err)
	}
	vs, err := backup.LastVerifies(ctx, live.db.Read)
	if err != nil {
		t.Fatal(err)
	}
	if v := vs[backup.TierReplica]; v.OK || v.Message != res.Message {
		t.Errorf("recorded %+v", v)
	}
}

type replicatedDB struct {
	db     *store.DB
	rep    *replica.Replicator
	target replica.Target
}

// mustReplicatedDB opens a fresh data.db with rows items, replicated
// under its own name in the backup bucket of src.
func mustReplicatedDB(t *testing.T, src backup.Endpoint, name string, rows int) replicatedDB {
	t.Helper()
	ctx := context.Background()
	db := testkit.DataDB(t)
	if _, err := db.Write.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for range rows {
		if _, err := db.Write.Exec(`INSERT INTO items DEFAULT VALUES`); err != nil {
			t.Fatal(err)
		}
	}
	target := replica.Target{Endpoint: src.URL, Bucket: "backup", Path: t.Name() + "/" + name, AccessKey: src.AccessKey, SecretKey: src.SecretKey}
	rep := &replica.Replicator{DBPath: db.Path, Logger: slog.New(slog.DiscardHandler), Target: target}
	if err := rep.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rep.Close(context.Background()) })
	return replicatedDB{db: db, rep: rep, target: target}
}
