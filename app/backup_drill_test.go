package main_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"site/app/backup"
	"site/app/backup/backuptest"
	"site/internal/testkit"
)

// siteS3 returns a client for the objects server at url with the keys of dataDir/secrets.json.
func siteS3(t *testing.T, url, dataDir string) *s3.Client {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(dataDir, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sec struct {
		AK string `json:"s3_access_key"`
		SK string `json:"s3_secret_key"`
	}
	if err := json.Unmarshal(body, &sec); err != nil {
		t.Fatal(err)
	}
	return backuptest.MustS3(t, backup.Endpoint{URL: url, AccessKey: sec.AK, SecretKey: sec.SK})
}

// snapshot is every object of the public and private buckets, key → body.
func snapshot(t *testing.T, c *s3.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, b := range []string{"public", "private"} {
		for _, k := range backuptest.Keys(t, c, b, "") {
			v, _ := backuptest.Get(t, c, b, k)
			out[b+"/"+k] = v
		}
	}
	return out
}

// TestDisasterDrill puts page views, files and an image variant into a
// running site, runs the three offsite tiers into a second objects server
// standing in for AWS S3, wipes the data dir, and restores from each tier
// with `site restore --from offsite/TIER`: the same rows and objects come
// back, the site serves, and `site backup verify` passes.
// offsiteConfig writes a site.hcl with the data dir dir, the offsite tiers
// at awsURL under the prefix "site/", no scheduled task (runs are asked
// for), and extra blocks; it returns its path.
func offsiteConfig(t *testing.T, dir, awsURL, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.hcl")
	hcl := fmt.Sprintf(`data_dir = %q
offsite {
  endpoint   = %q
  bucket     = "offsite"
  prefix     = "site/"
  access_key = %q
  secret_key = %q
}
cron {
  ttl_cleanup = "off"
  daily       = "off"
  weekly      = "off"
  biweekly    = "off"
  verify      = "off"
}
%s`, dir, awsURL, backuptest.AccessKey, backuptest.SecretKey, extra)
	if err := os.WriteFile(path, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDisasterDrill(t *testing.T) {
	awsURL := startOffsite(t)

	dir := filepath.Join(t.TempDir(), "data")
	cfgPath := offsiteConfig(t, dir, awsURL, "")
	serveArgs := []string{"serve", "--config", cfgPath, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0"}
	p := StartProc(t, nil, serveArgs...)
	site, objURL := p.Addrs["web"], p.Addrs["objects"]
	sc := siteS3(t, objURL, dir)

	// Content: page views, files in both buckets, an image with one variant.
	for range 3 {
		get(t, site+"/")
	}
	dbPath := filepath.Join(dir, "data.db")
	ro := openDB(t, dbPath)
	testkit.WaitFor(t, 15*time.Second, "3 page views", func() bool { return count(t, ro, "SELECT count(*) FROM page_views") == 3 })
	variant := strings.Repeat("v", 1234)
	backuptest.Put(t, sc, "public", "img/cat-640.webp", variant)
	backuptest.Put(t, sc, "public", "files/notes.txt", "public notes")
	backuptest.Put(t, sc, "private", "originals/cat.jpg", strings.Repeat("o", 5000))
	rw, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS images (key TEXT PRIMARY KEY)`,
		`CREATE TABLE IF NOT EXISTS image_variants (image_key TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
			format TEXT NOT NULL, object_key TEXT NOT NULL, bytes INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (image_key, width, format))`,
		`INSERT INTO images (key) VALUES ('img/cat.jpg')`,
		`INSERT INTO image_variants (image_key, width, height, format, object_key, bytes) VALUES ('img/cat.jpg', 640, 480, 'webp', 'img/cat-640.webp', 1234)`,
	} {
		if _, err := rw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rw.Close()
	want := snapshot(t, sc)
	testkit.WaitFor(t, time.Minute, "the image variant in the replica", func() bool {
		return replicaCount(t, dir, objURL, "SELECT count(*) FROM image_variants") == 1
	})

	cli := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := runSite(t, nil, append(args, "--config", cfgPath, "--objects.endpoint", objURL)...)
		if code != 0 {
			t.Fatalf("site %s: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout
	}
	out := cli("backup", "run", "daily")
	if !strings.Contains(out, "backup daily: ok:") {
		t.Errorf("backup run daily printed %q", out)
	}
	// The first run recorded itself in data.db, which the serve process's
	// Litestream may ship to the backup bucket before the second run lists
	// it (or compact Litestream's files there): a file or two is all the
	// second run may copy or delete.
	// Incremental copying as such is tested in app/backup.
	out = cli("backup", "run", "daily")
	m := regexp.MustCompile(`(\d+) objects checked, (\d+) copied \([^)]*\), (\d+) deleted`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("second daily run printed %q", out)
	}
	copied, _ := strconv.Atoi(m[2])
	deleted, _ := strconv.Atoi(m[3])
	if copied > 2 || deleted > 2 {
		t.Errorf("second daily run without change copied %d of %s objects and deleted %d: %q", copied, m[1], deleted, out)
	}
	cli("backup", "run", "weekly")
	cli("backup", "run", "biweekly")
	for _, tier := range backup.Tiers {
		if out := cli("backup", "verify", tier); !strings.Contains(out, "verify "+tier+": ok") || !strings.Contains(out, "1 image variants checked") {
			t.Errorf("verify %s printed %q", tier, out)
		}
	}
	status := cli("backup", "status")
	t.Logf("site backup status:\n%s", status)
	for _, s := range []string{"offsite: s3://offsite/site/", "daily", "manual", "ok: "} {
		if !strings.Contains(status, s) {
			t.Errorf("backup status lacks %q:\n%s", s, status)
		}
	}
	if code, _ := p.Stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	ro.Close()

	for _, tier := range backup.Tiers {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runSite(t, nil, "restore", "--from", "offsite/"+tier, "--config", cfgPath)
		if code != 0 {
			t.Fatalf("restore --from offsite/%s: exit %d\n%s\n%s", tier, code, stdout, stderr)
		}
		for _, s := range []string{"public ", "private ", "data.db ", "restored " + dbPath} {
			if !strings.Contains(stdout, s) {
				t.Errorf("restore from %s: no progress line with %q in\n%s", tier, s, stdout)
			}
		}
		t.Logf("site restore --from offsite/%s:\n%s", tier, stdout)
		code, _, stderr = runSite(t, nil, "restore", "--from", "offsite/"+tier, "--config", cfgPath)
		if code == 0 || !strings.Contains(stderr, "exists; stop the site and add --force to replace it") {
			t.Errorf("restore over a restored dir: exit %d, %q; want a refusal", code, stderr)
		}
		assertRows(t, dbPath, 3)
		p := StartProc(t, nil, serveArgs...)
		if code, _ := get(t, p.Addrs["web"]+"/"); code != 200 {
			t.Errorf("restored site from %s: GET / = %d", tier, code)
		}
		got := snapshot(t, siteS3(t, p.Addrs["objects"], dir))
		if len(got) != len(want) {
			t.Errorf("restored from %s: %d objects, want %d", tier, len(got), len(want))
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		}) {
			if got[k] != want[k] {
				t.Errorf("restored from %s: %s has %d bytes, want %d", tier, k, len(got[k]), len(want[k]))
			}
		}
		if code, _ := p.Stop(); code != 0 {
			t.Fatalf("serve on the restored dir exit %d", code)
		}
	}
}

// TestCronRoleRunsMissedDaily: a daily slot that passed while the site was
// down runs when `site serve` starts again, in the cron role, after a forced
// Litestream sync, so the daily tier's data.db holds the rows written just
// before; the run is recorded as "missed" and `site backup status` shows it.
func TestCronRoleRunsMissedDaily(t *testing.T) {
	awsURL := startOffsite(t)
	dir := filepath.Join(t.TempDir(), "data")
	cfgPath := filepath.Join(t.TempDir(), "site.hcl")
	hcl := fmt.Sprintf(`data_dir = %q
offsite {
  endpoint   = %q
  bucket     = "offsite"
  access_key = %q
  secret_key = %q
}
cron {
  daily    = "00:00"
  weekly   = "off"
  biweekly = "off"
  verify   = "off"
}
`, dir, awsURL, backuptest.AccessKey, backuptest.SecretKey)
	if err := os.WriteFile(cfgPath, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	serveArgs := []string{"serve", "--config", cfgPath, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0"}
	p := StartProc(t, nil, serveArgs...)
	for range 2 {
		get(t, p.Addrs["web"]+"/")
	}
	dbPath := filepath.Join(dir, "data.db")
	ro := openDB(t, dbPath)
	testkit.WaitFor(t, 15*time.Second, "2 page views", func() bool { return count(t, ro, "SELECT count(*) FROM page_views") == 2 })
	if code, _ := p.Stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	if n := count(t, ro, "SELECT count(*) FROM cron_runs WHERE task = 'daily'"); n != 0 {
		t.Fatalf("daily ran %d times at the first start; want 0 (nothing was missed yet)", n)
	}
	// The site was down over a daily slot: move the recorded slot a day back.
	rw, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rw.Exec(`UPDATE cron_tasks SET last_slot = last_slot - 86400 WHERE name = 'daily'`); err != nil {
		t.Fatal(err)
	}
	rw.Close()

	p = StartProc(t, nil, serveArgs...)
	testkit.WaitFor(t, 30*time.Second, "the missed daily run", func() bool {
		return count(t, ro, "SELECT count(*) FROM cron_runs WHERE task = 'daily' AND status = 'ok' AND trigger = 'missed'") == 1
	})
	var msg string
	if err := ro.QueryRow(`SELECT message FROM cron_runs WHERE task = 'daily'`).Scan(&msg); err != nil || strings.Contains(msg, "not synced") {
		t.Errorf("daily run message %q, %v; want a run after a Litestream sync", msg, err)
	}
	code, status, stderr := runSite(t, nil, "backup", "status", "--config", cfgPath)
	if code != 0 || !regexpMatch(`daily\s+daily 00:00\s+\S+ \S+\s+\S+ \S+ missed`, status) {
		t.Errorf("backup status: exit %d\n%s\n%s", code, status, stderr)
	}
	if code, _ := p.Stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	// The daily tier's data.db has both page views.
	other := filepath.Join(t.TempDir(), "restored")
	code, stdout, stderr := runSite(t, nil, "restore", "--from", "offsite/daily", "--config", cfgPath, "--data-dir", other)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s\n%s", code, stdout, stderr)
	}
	assertRows(t, filepath.Join(other, "data.db"), 2)
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// startOffsite runs a second objects process as the "AWS" target of the
// offsite backups, with the bucket "offsite", and returns its URL.
func startOffsite(t *testing.T) string {
	t.Helper()
	env := []string{"SITE_S3_ACCESS_KEY=" + backuptest.AccessKey, "SITE_S3_SECRET_KEY=" + backuptest.SecretKey}
	p := StartProc(t, env, "serve", "--roles=objects", "--data-dir", t.TempDir(), "--objects.listen", "127.0.0.1:0")
	url := p.Addrs["objects"]
	c := backuptest.MustS3(t, backup.Endpoint{URL: url, AccessKey: backuptest.AccessKey, SecretKey: backuptest.SecretKey})
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("offsite")}); err != nil {
		t.Fatal(err)
	}
	return url
}
