//go:build unix

package importer_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"site/app/content"
	"site/app/importer"
	"site/internal/testkit"
)

// TestImportRefusesSpecialFiles puts a named pipe called pipe.md beside a
// post: the import lists it as refused instead of reading it (a read of a
// pipe would wait forever for a writer) and imports the post.
func TestImportRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "ok.md"), []byte("---\ntitle: Fine\ndate: 2024-01-01\n---\nBody.\n"))
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.md"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	db := testkit.DataDB(t)
	var out bytes.Buffer
	im := &importer.Importer{Content: content.NewStore(db), Out: &out}
	rep, err := im.Import(context.Background(), dir)
	if err != nil || rep.Created != 1 || rep.Refused != 1 {
		t.Fatalf("report %s, err %v, want 1 created, 1 refused\n%s", rep, err, out.String())
	}
	if !strings.Contains(out.String(), "refused pipe.md: a named pipe\n") {
		t.Errorf("output lacks the refused pipe:\n%s", out.String())
	}
}
