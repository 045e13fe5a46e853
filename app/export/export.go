// Package export writes the whole site as a folder that `site import`
// reads back: every entry (posts, projects and pages, drafts and
// scheduled ones too) as a Markdown file with YAML front matter, and the
// original of every image beside the entry that shows it. The same files
// go to a folder on disk (Dir) or into a zip stream (Zip).
//
// Layout, chosen so that an import gives each entry and image back its
// slug and key:
//
//	posts/SLUG/index.md, projects/SLUG/index.md, pages/SLUG/index.md
//	KIND/SLUG/REST     an image whose key is KINDs/SLUG/REST, linked as REST
//	static/REST        an image whose key is static/REST, linked as /REST
//	static/KEY         any other image, linked as /KEY (imported back as
//	                   static/KEY: the importer keys site-wide images so)
//
// Images no entry shows are exported too, under static/ by the same
// rule, so that no upload is lost; an import takes only the ones entries
// link to.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"site/app/content"
)

// Objects reads originals from the object store; MinioObjects is one.
type Objects interface {
	// Get opens bucket/key for reading; ErrNoObject when it is not there.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, error)
}

// ErrNoObject is returned by Objects.Get for a missing object.
var ErrNoObject = errors.New("no such object")

// MinioObjects reads objects with a minio client.
type MinioObjects struct {
	Client *minio.Client
}

// Get opens bucket/key, checking first that it is there.
func (o MinioObjects) Get(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	obj, err := o.Client.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if code := minio.ToErrorResponse(err).Code; code == "NoSuchKey" || code == "NotFound" {
			return nil, ErrNoObject
		}
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return obj, nil
}

// Exporter writes the site's content to a Writer.
type Exporter struct {
	// Content is the site's writing.
	Content *content.Store
	// Objects holds the originals, in PrivateBucket; nil exports the
	// entries alone, their images left as /media/ links (counted Missing).
	Objects       Objects
	PrivateBucket string
	// Out, when set, receives one line per file written.
	Out io.Writer
	// Logger receives warnings (an original missing from the bucket).
	Logger *slog.Logger
}

// Report counts what an export wrote.
type Report struct {
	Entries, Images int
	// Bytes is the size of the files written, before any compression.
	Bytes int64
	// Missing counts images whose original is not in the bucket: an entry
	// that shows one keeps its /media/ link.
	Missing int
}

// String is the one-line summary of an export.
func (r Report) String() string {
	s := fmt.Sprintf("%d entries, %d images, %d bytes", r.Entries, r.Images, r.Bytes)
	if r.Missing > 0 {
		s += fmt.Sprintf("; %d image(s) without an original", r.Missing)
	}
	return s
}

// Export writes the whole site held by store, with the originals in
// bucket of objects, to w.
func Export(ctx context.Context, store *content.Store, objects Objects, bucket string, w Writer) (Report, error) {
	ex := &Exporter{Content: store, Objects: objects, PrivateBucket: bucket}
	return ex.Export(ctx, w)
}

// image is a row of the images table.
type image struct {
	key, original string
}

// run is one export in progress.
type run struct {
	*Exporter
	w       Writer
	rep     Report
	images  map[string]image
	written map[string]bool // paths written
	missing map[string]bool // image keys without an original
}

// Export writes every entry and every image to w. Entries go in order
// of kind and slug; an image used by several entries is written once per
// place it must sit.
func (ex *Exporter) Export(ctx context.Context, w Writer) (Report, error) {
	if ex.Out == nil {
		ex.Out = io.Discard
	}
	if ex.Logger == nil {
		ex.Logger = slog.Default()
	}
	r := &run{Exporter: ex, w: w, written: map[string]bool{}, missing: map[string]bool{}}
	var err error
	if r.images, err = ex.loadImages(ctx); err != nil {
		return r.rep, err
	}
	entries, err := ex.entries(ctx)
	if err != nil {
		return r.rep, err
	}
	used := map[string]bool{}
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return r.rep, err
		}
		p, err := ex.Content.GetAny(ctx, e.kind, e.slug)
		if errors.Is(err, content.ErrNotFound) { // deleted since the listing
			continue
		}
		if err != nil {
			return r.rep, fmt.Errorf("export: %w", err)
		}
		name, n, err := r.entry(ctx, p, used)
		if err != nil {
			return r.rep, err
		}
		r.rep.Entries++
		fmt.Fprintf(ex.Out, "[%d/%d] %s (%d images)\n", i+1, len(entries), name, n)
	}
	for _, key := range slices.Sorted(maps.Keys(r.images)) {
		if used[key] || r.missing[key] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return r.rep, err
		}
		name := staticPath(key)
		if _, err := r.image(ctx, key, name); err != nil {
			return r.rep, err
		}
		fmt.Fprintf(ex.Out, "%s (not shown by any entry)\n", name)
	}
	return r.rep, nil
}

type entryRef struct {
	kind content.Kind
	slug string
}

// entries lists every entry, whatever its status.
func (ex *Exporter) entries(ctx context.Context) ([]entryRef, error) {
	rows, err := ex.Content.DB.Read.QueryContext(ctx, `SELECT kind, slug FROM posts ORDER BY kind, slug`)
	if err != nil {
		return nil, fmt.Errorf("export: list entries: %w", err)
	}
	defer rows.Close()
	var out []entryRef
	for rows.Next() {
		var e entryRef
		if err := rows.Scan(&e.kind, &e.slug); err != nil {
			return nil, fmt.Errorf("export: list entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// loadImages reads every image's key and original.
func (ex *Exporter) loadImages(ctx context.Context) (map[string]image, error) {
	rows, err := ex.Content.DB.Read.QueryContext(ctx, `SELECT key, original_key FROM images`)
	if err != nil {
		return nil, fmt.Errorf("export: list images: %w", err)
	}
	defer rows.Close()
	out := map[string]image{}
	for rows.Next() {
		var img image
		if err := rows.Scan(&img.key, &img.original); err != nil {
			return nil, fmt.Errorf("export: list images: %w", err)
		}
		if img.original == "" {
			img.original = "originals/" + img.key
		}
		if !content.ValidKey(img.key) || !content.ValidKey(img.original) {
			ex.Logger.Warn("export: image key not valid; skipped", "key", img.key)
			continue
		}
		out[img.key] = img
	}
	return out, rows.Err()
}

// imageExts are the extensions the importer takes as images.
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".avif": true, ".svg": true}

// mdImage matches a Markdown image as the importer does: ![alt](dest "title").
var mdImage = regexp.MustCompile(`!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(\s+"[^"]*")?\s*\)`)

// entry writes p's images, then its Markdown file, and returns the file's
// path and how many images it shows.
func (r *run) entry(ctx context.Context, p *content.Post, used map[string]bool) (string, int, error) {
	if !content.ValidSlug(p.Slug) {
		return "", 0, fmt.Errorf("export: %s %q: slug is not a plain slug", p.Kind, p.Slug)
	}
	folder := folderOf(p.Kind, p.Slug)
	prefix := keyPrefix(p.Kind, p.Slug)
	shown := 0
	// ref writes the image key for this entry and returns the link to it,
	// "" when the image cannot be exported.
	ref := func(key string) (string, error) {
		if _, ok := r.images[key]; !ok || r.missing[key] || !imageExts[strings.ToLower(path.Ext(key))] {
			return "", nil
		}
		name, link := staticPath(key), "/"+strings.TrimPrefix(key, "static/")
		if rest, ok := strings.CutPrefix(key, prefix); ok {
			name, link = folder+"/"+rest, rest
		}
		ok, err := r.image(ctx, key, name)
		if err != nil || !ok {
			return "", err
		}
		used[key] = true
		shown++
		return link, nil
	}
	var firstErr error
	body := mdImage.ReplaceAllStringFunc(p.Body, func(m string) string {
		sub := mdImage.FindStringSubmatch(m)
		key, ok := strings.CutPrefix(sub[2], content.MediaPrefix)
		if !ok {
			return m
		}
		link, err := ref(key)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if link == "" {
			return m
		}
		return "![" + sub[1] + "](" + link + sub[3] + ")"
	})
	if firstErr != nil {
		return "", 0, firstErr
	}
	cover := ""
	if p.CoverImage != "" {
		var err error
		if cover, err = ref(p.CoverImage); err != nil {
			return "", 0, err
		}
		if cover == "" {
			r.Logger.Warn("export: cover image has no original; left out", "entry", p.Path(), "key", p.CoverImage)
		}
	}
	src, err := markdown(p, body, cover)
	if err != nil {
		return "", 0, err
	}
	name := folder + "/index.md"
	if err := r.write(name, p.UpdatedAt, strings.NewReader(src)); err != nil {
		return "", 0, err
	}
	return name, shown, nil
}

// image writes the original of key at name once; false when the bucket
// has no original.
func (r *run) image(ctx context.Context, key, name string) (bool, error) {
	if r.written[name] {
		return true, nil
	}
	img := r.images[key]
	body, err := io.ReadCloser(nil), ErrNoObject
	if r.Objects != nil {
		body, err = r.Objects.Get(ctx, r.PrivateBucket, img.original)
	}
	if errors.Is(err, ErrNoObject) {
		if !r.missing[key] {
			r.missing[key] = true
			r.rep.Missing++
			if r.Objects != nil {
				r.Logger.Warn("export: original not in the bucket; left out", "key", key, "original", img.original)
			}
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("export: image %s: %w", key, err)
	}
	defer body.Close()
	if err := r.write(name, time.Time{}, body); err != nil {
		return false, fmt.Errorf("export: image %s: %w", key, err)
	}
	r.rep.Images++
	return true, nil
}

// write copies body into the file name of the export.
func (r *run) write(name string, mod time.Time, body io.Reader) error {
	if _, err := CleanPath(name); err != nil {
		return err
	}
	f, err := r.w.Create(name, mod)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, body)
	if err != nil {
		if a, ok := f.(aborter); ok {
			a.Abort()
		}
		return fmt.Errorf("export: write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	r.written[name] = true
	r.rep.Bytes += n
	return nil
}

// folderOf is the folder of an entry's file. The importer skips folders
// named public and themes wherever they are, so those slugs get a
// trailing underscore (a slug never has one); the front matter keeps
// the slug.
func folderOf(kind content.Kind, slug string) string {
	if slug == "public" || slug == "themes" {
		slug += "_"
	}
	return string(kind) + "s/" + slug
}

// keyPrefix is the prefix the importer gives the keys of the images an
// entry links by a relative path.
func keyPrefix(kind content.Kind, slug string) string {
	return string(kind) + "s/" + slug + "/"
}

// staticPath is where an image linked by an absolute path sits: the
// importer keys /REST, found at static/REST, as static/REST.
func staticPath(key string) string {
	if strings.HasPrefix(key, "static/") {
		return key
	}
	return "static/" + key
}
