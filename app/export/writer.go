package export

import (
	"archive/zip"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// Writer receives the files of an export.
type Writer interface {
	// Create starts the file at name, a path that CleanPath accepts; the
	// file is complete once Close of the returned writer succeeds.
	Create(name string, modTime time.Time) (io.WriteCloser, error)
}

// aborter is a file that can be dropped unfinished, leaving nothing.
type aborter interface{ Abort() }

// CleanPath checks a path an export writes: relative, slash-separated,
// with no empty, "." or ".." segment, no backslash, colon or control
// character. It returns the path or an error; it never repairs one, so
// an object key or slug that is not a plain path is refused, not guessed.
func CleanPath(name string) (string, error) {
	if !fs.ValidPath(name) || name == "." || len(name) > 1024 {
		return "", fmt.Errorf("export: %q is not a relative path inside the export", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' || r == ':' {
			return "", fmt.Errorf("export: %q has a character not allowed in an exported path", name)
		}
	}
	return name, nil
}

// Dir writes an export into a folder on disk, through an *os.Root so no
// path leads outside it. Each file is written to a temporary name beside
// it, synced, and renamed into place: a file is either whole or absent.
type Dir struct {
	root *os.Root
}

// ErrNotEmpty is returned by OpenDir for a folder with something in it
// when force is false.
var ErrNotEmpty = errors.New("folder is not empty")

// OpenDir opens the folder dir for an export, creating it when missing.
// A folder that has anything in it is refused (ErrNotEmpty) unless force,
// when files of the same name are replaced and others are left alone.
func OpenDir(dir string, force bool) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if !force {
		f, err := root.Open(".")
		if err != nil {
			root.Close()
			return nil, fmt.Errorf("export: %w", err)
		}
		names, err := f.Readdirnames(1)
		f.Close()
		if err != nil && !errors.Is(err, io.EOF) {
			root.Close()
			return nil, fmt.Errorf("export: %w", err)
		}
		if len(names) > 0 {
			root.Close()
			return nil, fmt.Errorf("export: %s: %w (add --force to write into it)", dir, ErrNotEmpty)
		}
	}
	return &Dir{root: root}, nil
}

// Close releases the folder.
func (d *Dir) Close() error { return d.root.Close() }

// Create starts the file at name; it appears under its name on Close.
func (d *Dir) Create(name string, modTime time.Time) (io.WriteCloser, error) {
	name, err := CleanPath(name)
	if err != nil {
		return nil, err
	}
	if dir := path.Dir(name); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	tmp := path.Join(path.Dir(name), "."+path.Base(name)+".tmp-"+hex.EncodeToString(suffix[:]))
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &dirFile{d: d, f: f, tmp: tmp, name: name, mod: modTime}, nil
}

// dirFile is a file being written under a temporary name.
type dirFile struct {
	d         *Dir
	f         *os.File
	tmp, name string
	mod       time.Time
	done      bool
}

func (f *dirFile) Write(p []byte) (int, error) { return f.f.Write(p) }

// Close syncs the file and renames it into place.
func (f *dirFile) Close() error {
	if f.done {
		return nil
	}
	f.done = true
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.d.root.Rename(f.tmp, f.name)
	}
	if err != nil {
		_ = f.d.root.Remove(f.tmp)
		return fmt.Errorf("export: write %s: %w", f.name, err)
	}
	if !f.mod.IsZero() {
		_ = f.d.root.Chtimes(f.name, f.mod, f.mod)
	}
	return nil
}

// Abort drops the unfinished file.
func (f *dirFile) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	_ = f.d.root.Remove(f.tmp)
}

// Zip writes an export as a zip stream, every file under one top folder,
// without holding more than one compression window in memory.
type Zip struct {
	zw     *zip.Writer
	folder string
}

// NewZip writes a zip to w whose files sit under folder (a single path
// segment; "" puts them at the top).
func NewZip(w io.Writer, folder string) (*Zip, error) {
	if folder != "" {
		if _, err := CleanPath(folder); err != nil || strings.Contains(folder, "/") {
			return nil, fmt.Errorf("export: zip folder %q is not one path segment", folder)
		}
	}
	return &Zip{zw: zip.NewWriter(w), folder: folder}, nil
}

// storedExts are files already compressed: stored in the zip as they are.
var storedExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".avif": true}

// Create starts the file at name in the zip.
func (z *Zip) Create(name string, modTime time.Time) (io.WriteCloser, error) {
	name, err := CleanPath(name)
	if err != nil {
		return nil, err
	}
	if z.folder != "" {
		name = z.folder + "/" + name
	}
	method := zip.Deflate
	if storedExts[strings.ToLower(path.Ext(name))] {
		method = zip.Store
	}
	if modTime.IsZero() {
		modTime = time.Now()
	}
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: modTime.UTC()})
	if err != nil {
		return nil, fmt.Errorf("export: zip %s: %w", name, err)
	}
	return nopCloser{w}, nil
}

// Close writes the zip's central directory.
func (z *Zip) Close() error {
	if err := z.zw.Close(); err != nil {
		return fmt.Errorf("export: zip: %w", err)
	}
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
