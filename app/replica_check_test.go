package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"site/internal/testkit"
)

// TestReplicaCheckRepairsBrokenReplica breaks the Litestream replica on
// purpose (an LTX file of its chain truncated, or deleted, in the backup bucket):
// the next check of the replica finds it, records the failure, raises an
// alert, forces a fresh snapshot and passes again; /metrics counts the
// failure, `site backup status` shows the replica passing, and a restore of
// the latest point brings back every page view.
func TestReplicaCheckRepairsBrokenReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("restores in a loop: skipped in -short")
	}
	for _, breakIt := range []string{"truncate", "delete"} {
		t.Run(breakIt, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			cfgPath := filepath.Join(t.TempDir(), "site.hcl")
			hcl := fmt.Sprintf("data_dir = %q\nreplica {\n  check_interval = \"2s\"\n}\n", dir)
			if err := os.WriteFile(cfgPath, []byte(hcl), 0o600); err != nil {
				t.Fatal(err)
			}
			p := StartProc(t, nil, "serve", "--config", cfgPath, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0",
				"--ops.listen", "127.0.0.1:0")
			site, endpoint := p.Addrs["web"], p.Addrs["objects"]
			db := openDB(t, filepath.Join(dir, "data.db"))
			checks := func(ok int) int {
				return count(t, db, "SELECT count(*) FROM backup_verifies WHERE tier = 'replica' AND ok = ?", ok)
			}
			testkit.WaitFor(t, 30*time.Second, "a passing check of the replica at start", func() bool { return checks(1) > 0 })
			viewPages(t, site, db, 5)
			if n := checks(0); n != 0 {
				t.Fatalf("%d failed checks before the replica was broken", n)
			}

			s3 := clientFromSecrets(t, dir, endpoint)
			// breakOne breaks a file the latest point needs and returns the
			// id of the last check recorded before.
			breakOne := func() int {
				key := chainLTX(t, s3)
				last := count(t, db, "SELECT coalesce(max(id), 0) FROM backup_verifies WHERE tier = 'replica'")
				breakObject(t, s3, key, breakIt)
				t.Logf("%s backup/%s", breakIt, key)
				return last
			}
			before := breakOne()
			testkit.WaitFor(t, 60*time.Second, "a failed check of the replica", func() bool {
				if checks(0) > 0 {
					return true
				}
				// A check begun after the break passed: the broken file was
				// not needed after all (Litestream's level-1 compaction, on
				// the clock's 30 s boundaries, came between the listing and
				// the break and stands in for it). Break a newer one. The
				// check in flight at the break may pass; the next may not.
				if count(t, db, "SELECT count(*) FROM backup_verifies WHERE tier = 'replica' AND ok = 1 AND id > ?", before+1) > 0 {
					t.Logf("a check passed after the break")
					before = breakOne()
				}
				return false
			})
			failedID := count(t, db, "SELECT max(id) FROM backup_verifies WHERE tier = 'replica' AND ok = 0")
			testkit.WaitFor(t, 60*time.Second, "a passing check after the forced snapshot", func() bool {
				return count(t, db, "SELECT count(*) FROM backup_verifies WHERE tier = 'replica' AND ok = 1 AND id > ?", failedID) > 0
			})
			testkit.WaitFor(t, 30*time.Second, "the alert stored by the worker", func() bool {
				return count(t, db, "SELECT count(*) FROM alerts WHERE source = 'backup' AND message LIKE '%failed its restore check%fresh snapshot was written%'") > 0
			})
			var msg string
			if err := db.QueryRow("SELECT message FROM backup_verifies WHERE id = ?", failedID).Scan(&msg); err != nil {
				t.Fatal(err)
			}
			t.Logf("failed check: %s", msg)
			if !regexp.MustCompile(`fails its check: .*(the newest point that passes is txid|from \S+ passes, but)`).MatchString(msg) {
				t.Errorf("the failed check names no earlier point that passes: %s", msg)
			}

			code, body := get(t, p.Addrs["ops"]+"/metrics")
			if code != 200 || !regexp.MustCompile(`(?m)^site_replica_checks_total\{result="failed"\} [1-9]`).MatchString(body) {
				t.Errorf("/metrics counts no failed replica check:\n%s", grepLines(body, "site_replica"))
			}
			if code, body := get(t, site+"/readyz"); code != 200 || !strings.Contains(body, `"replica":"ok"`) {
				t.Errorf("/readyz after the repair = %d %s", code, body)
			}
			code, out, stderr := runSite(t, nil, "backup", "status", "--config", cfgPath)
			if code != 0 || !regexp.MustCompile(`(?m)^replica\s+\S+ \S+\s+ok: latest point restored`).MatchString(out) {
				t.Errorf("backup status: exit %d\n%s\n%s", code, out, stderr)
			}

			if code, _ := p.Stop(); code != 0 {
				t.Fatalf("serve exit %d", code)
			}
			obj := StartProc(t, nil, "serve", "--roles=objects", "--data-dir", dir, "--objects.listen", "127.0.0.1:0", "--ops.listen", "127.0.0.1:0")
			live := tableCounts(t, filepath.Join(dir, "data.db"))
			if got := restoreInto(t, dir, obj.Addrs["objects"], ""); fmt.Sprint(got) != fmt.Sprint(live) {
				t.Errorf("latest restore after the repair: rows %v, live %v", got, live)
			}
		})
	}
}

// chainLTX returns the key of a level-0 LTX file that a restore of the
// latest point needs: not the newest (Litestream uploads a missing newest
// file again at its next sync) and above every file of the higher levels
// (which would stand in for it), nor the first (the first start's snapshot
// holds it). Checks of the replica write a row each, so such files keep
// coming.
func chainLTX(t *testing.T, s3 *minio.Client) string {
	t.Helper()
	var key string
	testkit.WaitFor(t, 60*time.Second, "a level-0 LTX file inside the chain", func() bool {
		l0, covered := ltxLevels(t, s3)
		if i := len(l0) - 2; i >= 0 && l0[i] > covered {
			key = "data.db/0000/" + l0[i] + "-" + l0[i] + ".ltx"
			return true
		}
		return false
	})
	return key
}

// ltxLevels lists the replica's LTX files: the first txids of level 0, in
// order, and the highest last txid of the higher levels (at least txid 1,
// which the snapshot Litestream writes at its first start holds), as hex.
func ltxLevels(t *testing.T, s3 *minio.Client) (l0 []string, covered string) {
	t.Helper()
	covered = "0000000000000001"
	for o := range s3.ListObjects(context.Background(), "backup", minio.ListObjectsOptions{Prefix: "data.db/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		level, name, _ := strings.Cut(strings.TrimPrefix(o.Key, "data.db/"), "/")
		first, last, ok := strings.Cut(strings.TrimSuffix(name, ".ltx"), "-")
		if !ok || !strings.HasSuffix(name, ".ltx") {
			continue
		}
		if level == "0000" {
			l0 = append(l0, first)
		} else if last > covered {
			covered = last
		}
	}
	slices.Sort(l0)
	return l0, covered
}

// breakObject truncates the object at key to half its size, or deletes it.
func breakObject(t *testing.T, s3 *minio.Client, key, how string) {
	t.Helper()
	ctx := context.Background()
	if how == "delete" {
		if err := s3.RemoveObject(ctx, "backup", key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	obj, err := s3.GetObject(ctx, "backup", key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	half := body[:len(body)/2]
	if _, err := s3.PutObject(ctx, "backup", key, bytes.NewReader(half), int64(len(half)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
