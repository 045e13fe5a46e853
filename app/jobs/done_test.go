package jobs_test

import (
	"context"
	"testing"
	"time"

	"site/app/jobs"
	"site/internal/testkit"
)

// TestMarkDone: the first delivery records the job, a later one is told it
// was done; a record rolled back with its effect leaves the job to do.
func TestMarkDone(t *testing.T) {
	ctx := context.Background()
	db := testkit.DataDB(t)
	j := jobs.Job{ID: "img-1", Subject: "jobs.image"}
	now := time.Unix(1_700_000_000, 0)

	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first, err := jobs.MarkDone(ctx, tx, j, now); err != nil || !first {
		t.Fatalf("first MarkDone in a tx = %v, %v", first, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if done, err := jobs.Done(ctx, db.Read, j.ID); err != nil || done {
		t.Fatalf("Done after a rollback = %v, %v; want false", done, err)
	}

	for i, want := range []bool{true, false} {
		if first, err := jobs.MarkDone(ctx, db.Write, j, now); err != nil || first != want {
			t.Fatalf("MarkDone #%d = %v, %v; want %v", i+1, first, err, want)
		}
	}
	if done, err := jobs.Done(ctx, db.Read, j.ID); err != nil || !done {
		t.Fatalf("Done = %v, %v; want true", done, err)
	}
	var kind string
	var at int64
	if err := db.Read.QueryRow(`SELECT kind, done_at FROM processed_jobs WHERE id = ?`, j.ID).Scan(&kind, &at); err != nil || kind != "image" || at != now.Unix() {
		t.Errorf("row = %q %d, %v", kind, at, err)
	}
}
