package benchdoc_test

import (
	"os"
	"path/filepath"
	"testing"

	"site/app/benchdoc"
)

// TestWrite rewrites only its own section and block.
func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	steps := []func() error{
		func() error { return benchdoc.WriteSection(path, "## A", "## A\n\na1\n") },
		func() error { return benchdoc.WriteBlock(path, "## B", "x", "x1") },
		func() error { return benchdoc.WriteSection(path, "## C", "## C\n\nc1\n") },
		func() error { return benchdoc.WriteBlock(path, "## B", "y", "y1") },
		func() error { return benchdoc.WriteSection(path, "## A", "## A\n\na2\n") },
		func() error { return benchdoc.WriteBlock(path, "## B", "x", "x2") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nEach section is written by its benchmark; numbers are ratios against a reference tool measured in the same run.\n\n" +
		"## A\n\na2\n\n## B\n\n<!-- x -->\nx2\n<!-- /x -->\n\n<!-- y -->\ny1\n<!-- /y -->\n\n## C\n\nc1\n"
	if string(got) != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}
