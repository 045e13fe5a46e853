package importer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// folder is the imported folder, read only through an *os.Root, so that no
// path and no symbolic link leads a read outside it (say to the site's own
// data/secrets.json). The import follows no link at all, even one pointing
// inside the folder, and reads nothing but regular files: a pipe would
// block the import, a device or socket is no content. Each path it refuses
// is listed on out once.
type folder struct {
	root    *os.Root
	out     io.Writer
	refused map[string]bool
}

// openFolder opens dir for an import whose refusals are listed on out.
func openFolder(dir string, out io.Writer) (*folder, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open folder: %w", err)
	}
	return &folder{root: root, out: out, refused: map[string]bool{}}, nil
}

// Close releases the folder.
func (f *folder) Close() error { return f.root.Close() }

// refusal is a path, relative to the folder with slashes, that the import
// will not read, and why.
type refusal struct {
	path, reason string
}

func (r *refusal) Error() string { return "refused " + r.path + ": " + r.reason }

// refuse lists r on out, with note in brackets when there is one, unless
// its path was refused before.
func (f *folder) refuse(r *refusal, note string) {
	if f.refused[r.path] {
		return
	}
	f.refused[r.path] = true
	if note != "" {
		fmt.Fprintf(f.out, "%s (%s)\n", r, note)
		return
	}
	fmt.Fprintf(f.out, "%s\n", r)
}

// asRefusal reports whether err is a refusal, and which.
func asRefusal(err error) (*refusal, bool) {
	var r *refusal
	ok := errors.As(err, &r)
	return r, ok
}

// typeRefused says why an entry of type t (fs.FileMode.Type) is not read,
// or "" for a regular file or a folder.
func typeRefused(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeDevice != 0:
		return "a device"
	case t.IsRegular() || t.IsDir():
		return ""
	}
	return "not a regular file"
}

// open opens the regular file at rel (slash-separated, relative to the
// folder) for reading, with its FileInfo. It returns a *refusal when rel
// leads outside the folder, passes through a symbolic link, or names
// something other than a regular file or a folder; a folder, or nothing
// there, is an ordinary error.
func (f *folder) open(rel string) (*os.File, fs.FileInfo, error) {
	if !fs.ValidPath(rel) || rel == "." {
		return nil, nil, &refusal{rel, "outside the imported folder"}
	}
	parts := strings.Split(rel, "/")
	var st fs.FileInfo
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		var err error
		if st, err = f.root.Lstat(p); err != nil {
			return nil, nil, err
		}
		if i < len(parts)-1 && st.Mode()&fs.ModeSymlink != 0 {
			return nil, nil, &refusal{rel, "through " + p + ", a symbolic link"}
		}
	}
	if reason := typeRefused(st.Mode().Type()); reason != "" {
		return nil, nil, &refusal{rel, reason}
	}
	if st.IsDir() {
		return nil, nil, fmt.Errorf("%s is a folder", rel)
	}
	file, err := f.root.Open(rel)
	if err != nil {
		return nil, nil, err
	}
	opened, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, nil, err
	}
	if !os.SameFile(st, opened) { // swapped since the Lstat
		file.Close()
		return nil, nil, &refusal{rel, "changed while being opened"}
	}
	return file, opened, nil
}

// readFile reads the regular file at rel, as open allows it.
func (f *folder) readFile(rel string) ([]byte, error) {
	file, _, err := f.open(rel)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(file)
}

// markdown walks the folder, in lexical order, for the Markdown files to
// import, skipping the folders of themes, builds and tools; it refuses
// every symbolic link and special file it meets there, whatever its name.
func (f *folder) markdown() ([]string, error) {
	var files []string
	err := fs.WalkDir(f.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "public" || name == "_site" || name == "themes") {
				return fs.SkipDir
			}
			return nil
		}
		if reason := typeRefused(d.Type()); reason != "" {
			f.refuse(&refusal{p, reason}, "")
			return nil
		}
		ext := strings.ToLower(path.Ext(name))
		if (ext == ".md" || ext == ".markdown") && !strings.HasPrefix(name, "_index.") && !strings.EqualFold(name, "README.md") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk: %w", err)
	}
	return files, nil
}
