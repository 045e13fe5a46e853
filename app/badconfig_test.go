package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputStartsNothing checks the program's side of bad input: one
// line on stderr naming the place, exit code 1, and no data dir created.
// The full table of messages is in app/config.
func TestBadInputStartsNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfgPath := filepath.Join(t.TempDir(), "site.hcl")
	if err := os.WriteFile(cfgPath, []byte("worker {\n  concurrency = -1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--data-dir", dir, "--roles=objects,nats,webserver"}, `site: flag --roles: unknown role "webserver" (known: objects, nats, web, worker, cron)` + "\n"},
		{[]string{"--data-dir", dir, "--config", cfgPath}, "site: site.hcl:2: worker.concurrency: must be between 1 and 1024, not -1\n"},
		{[]string{"import", "--data-dir", dir}, "site: import: give the folder to import: site import DIR [--config site.hcl]\n"},
		{[]string{"serv"}, `site: unknown command "serv" (commands: serve, restore, backup, import, import-comments, export, admin, health, version)` + "\n"},
		{[]string{"restore", "--data-dir", dir, "--from", "offsite/weekly"}, `site: flag --from: "offsite/weekly" is not backup, offsite/daily, offsite/1-week or offsite/2-week` + "\n"},
		{[]string{"backup", "run", "hourly", "--data-dir", dir}, `site: backup run: unknown run "hourly" (daily, weekly or biweekly)` + "\n"},
		{[]string{"backup", "verify", "weekly", "--data-dir", dir}, `site: backup verify: "weekly": unknown tier (daily, 1-week or 2-week)` + "\n"},
		{[]string{"backup", "status", "--data-dir", dir}, "site: no " + filepath.Join(dir, "data.db") + ": start the site once, or restore it first\n"},
		{[]string{"restore", "--data-dir", dir, "--at", "yesterday"}, `site: flag --at: "yesterday" is not a time (RFC 3339 such as 2026-11-27T10:00:00Z, "2026-11-27 10:00:00" in UTC, or a duration ago such as 15m)` + "\n"},
	}
	for _, c := range cases {
		code, stdout, stderr := runSite(t, nil, c.args...)
		if code != 1 || stderr != c.want || stdout != "" {
			t.Errorf("site %s:\n exit %d, stdout %q\n got: %q\nwant: %q", strings.Join(c.args, " "), code, stdout, stderr, c.want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("bad input created the data dir %s (err %v)", dir, err)
	}
}
