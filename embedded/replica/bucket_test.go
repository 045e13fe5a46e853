package replica_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/superfly/ltx"

	"site/embedded/objects"
	"site/embedded/replica"
)

// The helpers here build a replica step by step and then damage it in the
// bucket, as a Litestream bug or a careless hand would.

// history is a replica built one synced step at a time.
type history struct {
	target replica.Target
	txids  []uint64   // txids[i]: the replica's newest TXID after step i (0: the initial state)
	rows   [][]string // rows[i]: the items after step i
}

// buildHistory creates a database, replicates it, and runs each step as one
// synced transaction. Replication is then closed and the replica reduced to
// its level-0 chain (see keepOnlyL0), so a damaged L0 file is the only
// source of its transactions.
func buildHistory(t *testing.T, setup string, steps ...string) *history {
	t.Helper()
	path, db := MustCreateDB(t)
	if setup != "" {
		if _, err := db.Exec(setup); err != nil {
			t.Fatal(err)
		}
	}
	h := &history{target: newTarget(t)}
	// An hour: nothing is shipped in the background, each Sync ships one step.
	r := MustOpenReplicator(t, path, h.target, time.Hour)
	record := func() {
		txids := l0TXIDs(t, h.target)
		h.txids = append(h.txids, txids[len(txids)-1])
		h.rows = append(h.rows, rowsOf(t, db))
	}
	record()
	for _, step := range steps {
		if _, err := db.Exec(step); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if err := r.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		record()
		if h.txids[len(h.txids)-1] == h.txids[len(h.txids)-2] {
			t.Fatalf("step %q shipped no LTX file", step)
		}
	}
	_ = db.Close()
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	keepOnlyL0(t, h.target)
	return h
}

// step returns the index of the step that ended at txid.
func (h *history) step(t *testing.T, txid uint64) int {
	t.Helper()
	for i, x := range h.txids {
		if x == txid {
			return i
		}
	}
	t.Fatalf("txid %016x ends no step (steps end at %x)", txid, h.txids)
	return -1
}

// rowsOf returns the item names in db, in id order.
func rowsOf(t testing.TB, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM items ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func bucket(t *testing.T) *minio.Client {
	t.Helper()
	mc, err := objects.NewClient(s3Endpoint, testAccess, testSecret, replica.DefaultRegion)
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// l0Key is the object key of the level-0 LTX file of txid.
func l0Key(target replica.Target, txid uint64) string {
	return fmt.Sprintf("%s/%04x/%016x-%016x.ltx", target.Path, 0, txid, txid)
}

// l0TXIDs returns the TXIDs of the replica's level-0 files, in order.
func l0TXIDs(t *testing.T, target replica.Target) []uint64 {
	t.Helper()
	var txids []uint64
	for o := range bucket(t).ListObjects(t.Context(), testBucket, minio.ListObjectsOptions{Prefix: target.Path + "/0000/"}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		minTXID, maxTXID, err := ltx.ParseFilename(o.Key[strings.LastIndex(o.Key, "/")+1:])
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		if minTXID != maxTXID {
			t.Fatalf("%s: an L0 file of more than one transaction", o.Key)
		}
		txids = append(txids, uint64(maxTXID))
	}
	if len(txids) == 0 {
		t.Fatal("no L0 file in the replica")
	}
	return txids
}

// levelKeys returns the object keys of the replica's LTX files at level.
func levelKeys(t *testing.T, target replica.Target, level int) []string {
	t.Helper()
	var keys []string
	for o := range bucket(t).ListObjects(t.Context(), testBucket, minio.ListObjectsOptions{Prefix: fmt.Sprintf("%s/%04x/", target.Path, level)}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// keepOnlyL0 removes every file above level 0 once the level-0 chain is
// checked to be whole from txid 1. Litestream compacts into level 1 at
// every 30 s of the wall clock and writes its snapshot when the database is
// ready, so either may cover a transaction a test damages at level 0; with
// the chain whole these files are redundant.
func keepOnlyL0(t *testing.T, target replica.Target) {
	t.Helper()
	for i, txid := range l0TXIDs(t, target) {
		if txid != uint64(i+1) {
			t.Fatalf("L0 chain not whole: file %d is txid %d", i, txid)
		}
	}
	mc := bucket(t)
	for o := range mc.ListObjects(t.Context(), testBucket, minio.ListObjectsOptions{Prefix: target.Path + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.HasPrefix(o.Key, target.Path+"/0000/") {
			continue
		}
		if err := mc.RemoveObject(t.Context(), testBucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// rewrite replaces an object's body by what fn makes of it, keeping its
// metadata (Litestream's timestamp) unless fn's meta says otherwise.
func rewrite(t *testing.T, key string, fn func(body []byte, meta map[string]string) []byte) {
	t.Helper()
	ctx, mc := t.Context(), bucket(t)
	body, meta := getObject(ctx, t, mc, key)
	body = fn(body, meta)
	if _, err := mc.PutObject(ctx, testBucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: meta}); err != nil {
		t.Fatal(err)
	}
}

func getObject(ctx context.Context, t *testing.T, mc *minio.Client, key string) ([]byte, map[string]string) {
	t.Helper()
	obj, err := mc.GetObject(ctx, testBucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	body, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return body, st.UserMetadata
}

// truncateObject cuts an object to half its length, as an interrupted upload or
// a careless copy would.
func truncateObject(t *testing.T, key string) {
	t.Helper()
	rewrite(t, key, func(b []byte, _ map[string]string) []byte { return b[:len(b)/2] })
}

// removeObject deletes an object.
func removeObject(t *testing.T, key string) {
	t.Helper()
	if err := bucket(t).RemoveObject(t.Context(), testBucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// retime sets the timestamp Litestream stored with an LTX object.
func retime(t *testing.T, key string, ts time.Time) {
	t.Helper()
	rewrite(t, key, func(b []byte, meta map[string]string) []byte {
		for k := range meta {
			if strings.EqualFold(k, "litestream-timestamp") {
				delete(meta, k)
			}
		}
		meta["litestream-timestamp"] = ts.UTC().Format(time.RFC3339Nano)
		return b
	})
}

// timestampOf returns the timestamp Litestream stored with an LTX object.
func timestampOf(t *testing.T, key string) time.Time {
	t.Helper()
	_, meta := getObject(t.Context(), t, bucket(t), key)
	for k, v := range meta {
		if strings.EqualFold(k, "litestream-timestamp") {
			ts, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				t.Fatal(err)
			}
			return ts
		}
	}
	t.Fatalf("%s has no litestream-timestamp: %v", key, meta)
	return time.Time{}
}

// dropPages re-encodes an LTX file without the pages drop selects: a valid
// file that misses pages its transaction wrote, the mark of a replication
// bug. It fails the test unless exactly one page is dropped.
func dropPages(t *testing.T, key string, drop func(pgno uint32, data []byte) bool) {
	t.Helper()
	rewrite(t, key, func(b []byte, _ map[string]string) []byte {
		dec := ltx.NewDecoder(bytes.NewReader(b))
		if err := dec.DecodeHeader(); err != nil {
			t.Fatal(err)
		}
		hdr := dec.Header()
		var out bytes.Buffer
		enc, err := ltx.NewEncoder(&out)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.EncodeHeader(hdr); err != nil {
			t.Fatal(err)
		}
		dropped := 0
		for {
			var ph ltx.PageHeader
			data := make([]byte, hdr.PageSize)
			if err := dec.DecodePage(&ph, data); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if drop(ph.Pgno, data) {
				dropped++
				continue
			}
			if err := enc.EncodePage(ltx.PageHeader{Pgno: ph.Pgno}, data); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if dropped != 1 {
			t.Fatalf("%s: dropped %d pages, want 1", key, dropped)
		}
		return out.Bytes()
	})
}
