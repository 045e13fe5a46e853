package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size bytes in a temporary directory and
// returns its path; it is unmounted when the test ends. Mounting needs
// root (CAP_SYS_ADMIN): elsewhere the test is skipped, saying so.
func SmallDisk(tb testing.TB, size int64) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("a full filesystem needs a tmpfs mounted by the test, which needs root")
	}
	dir := filepath.Join(tb.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		tb.Skipf("cannot mount a tmpfs (%v): a full filesystem cannot be tried here", err)
	}
	tb.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// FillDisk writes a file in dir until its filesystem has no space left,
// and returns a function that deletes it.
func FillDisk(tb testing.TB, dir string) (free func()) {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	for _, n := range []int{64 << 10, 4 << 10, 512, 1} { // the last blocks too
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	_ = f.Close()
	return func() {
		if err := os.Remove(path); err != nil {
			tb.Errorf("free the disk: %v", err)
		}
	}
}
