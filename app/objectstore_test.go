package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsObjectsEndpointDown: restore, import and backup reach the
// object store the same way, and a configured objects.endpoint that does
// not answer stops each at once with an error naming it and why, before
// anything is written.
func TestCommandsObjectsEndpointDown(t *testing.T) {
	dir := t.TempDir()
	dead := "http://" + freeAddr(t)
	// backup wants a data.db before it looks for the store.
	if err := os.WriteFile(filepath.Join(dir, "data.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"restore", "--data-dir", filepath.Join(dir, "restore")},
		{"import", "importer/testdata/hugo", "--data-dir", filepath.Join(dir, "import")},
		{"backup", "run", "daily", "--data-dir", dir},
	} {
		code, stdout, stderr := runSite(t, nil, append(args, "--objects.endpoint", dead)...)
		// The error is the last line (logs may come before it).
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		want := "site: objects.endpoint " + dead + ": no answer: "
		if code != 1 || !strings.HasPrefix(last, want) || !strings.Contains(last, "connection refused") {
			t.Errorf("site %s: exit %d\nstdout %q\nstderr %q\nwant a last line starting %q and saying connection refused", strings.Join(args, " "), code, stdout, stderr, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "import", "data.db")); !os.IsNotExist(err) {
		t.Errorf("import without an object store wrote data.db (err %v)", err)
	}
}

// TestCommandsUseRunningObjects: with no objects.endpoint, a command uses
// the object store a site already serves on objects.listen (same data dir,
// same keys) rather than start a second server on the same files.
func TestCommandsUseRunningObjects(t *testing.T) {
	dir := t.TempDir()
	listen := freeAddr(t)
	p := StartProc(t, nil, "serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", listen)
	if got, want := p.Addrs["objects"], "http://"+listen; got != want {
		t.Fatalf("objects at %q, want %q", got, want)
	}
	code, stdout, stderr := runSite(t, nil, "import", "importer/testdata/hugo", "--data-dir", dir, "--objects.listen", listen)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "(objects at http://"+listen+")") {
		t.Errorf("import did not use the running site's objects at %s:\n%s", listen, stdout)
	}
}
