package importer

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/minio/minio-go/v7"

	"site/app/content"
)

// maxImageBytes caps an image file taken by the importer.
const maxImageBytes = 64 << 20

// mdImage matches a Markdown image: ![alt](dest "title").
var mdImage = regexp.MustCompile(`!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(\s+"[^"]*")?\s*\)`)

// hugoFigure matches Hugo's figure shortcode, turned into a Markdown image.
var hugoFigure = regexp.MustCompile(`\{\{<\s*figure\s+([^>]*?)\s*/?>\}\}`)

var shortcodeAttr = regexp.MustCompile(`(\w+)\s*=\s*"([^"]*)"`)

// rewriteImages imports the local images a body shows and points them at
// their media key, so pages draw them with their variants.
func (im *Importer) rewriteImages(ctx context.Context, fold *folder, from, prefix, body string, rep *Report) (string, error) {
	body = hugoFigure.ReplaceAllStringFunc(body, func(sc string) string {
		attrs := map[string]string{}
		for _, m := range shortcodeAttr.FindAllStringSubmatch(sc, -1) {
			attrs[m[1]] = m[2]
		}
		if attrs["src"] == "" {
			return sc
		}
		alt := firstNonEmpty(attrs["alt"], attrs["caption"], attrs["title"])
		return "![" + strings.ReplaceAll(alt, "]", "") + "](" + attrs["src"] + ")"
	})
	if im.Objects == nil {
		return body, nil
	}
	var firstErr error
	out := mdImage.ReplaceAllStringFunc(body, func(m string) string {
		sub := mdImage.FindStringSubmatch(m)
		key, err := im.importImage(ctx, fold, from, prefix, sub[2], "", rep)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("image %s: %w", sub[2], err)
			}
			return m
		}
		if key == "" {
			return m
		}
		return "![" + sub[1] + "](" + content.MediaPrefix + key + sub[3] + ")"
	})
	return out, firstErr
}

// importImage stores the local image ref of the Markdown file from
// (relative to the file, or to the site's static/ folder when it starts
// with /) and returns its key; "" when ref is not a local image file, when
// it is not there (logged), or when the folder refuses it (listed, as a
// missing image is: the entry keeps ref as written, a dead link rather than
// a failed entry).
func (im *Importer) importImage(ctx context.Context, fold *folder, from, prefix, ref, alt string, rep *Report) (string, error) {
	if im.Objects == nil || ref == "" || strings.HasPrefix(ref, "//") || strings.Contains(ref, ":") ||
		strings.HasPrefix(ref, content.MediaPrefix) {
		return "", nil
	}
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		ref = ref[:i]
	}
	if u, err := url.PathUnescape(ref); err == nil {
		ref = u
	}
	var candidates []string
	keyPrefix := prefix
	rel := path.Clean(ref)
	if strings.HasPrefix(ref, "/") {
		rel = strings.TrimPrefix(rel, "/")
		candidates = []string{path.Join("static", rel), rel, path.Join("assets", rel)}
		keyPrefix = "static/"
	} else {
		candidates = []string{path.Join(path.Dir(from), rel)}
	}
	if !imageExts[strings.ToLower(path.Ext(rel))] {
		return "", nil
	}
	var file *os.File
	var st fs.FileInfo
	for _, c := range candidates {
		f, info, err := fold.open(c)
		if r, ok := asRefusal(err); ok {
			fold.refuse(r, "image in "+from)
			return "", nil
		}
		if err == nil {
			file, st = f, info
			break
		}
	}
	if file == nil {
		im.Logger.Warn("image not found; left as written", "ref", ref)
		return "", nil
	}
	defer file.Close()
	if st.Size() > maxImageBytes {
		return "", fmt.Errorf("larger than %d MiB", maxImageBytes>>20)
	}
	key := keyPrefix + safeKeyPath(rel)
	if !content.ValidKey(key) {
		return "", fmt.Errorf("cannot make an object key of %q", ref)
	}
	// The original keeps its metadata (EXIF GPS included), so it goes to
	// the private bucket only; the worker's image sweep makes the stripped
	// variants that pages show, and it records the size.
	original := "originals/" + key
	wrote, err := im.Objects.Put(ctx, im.PrivateBucket, original, file, st.Size())
	if err != nil {
		return "", err
	}
	if wrote {
		rep.ImagesWritten++
	} else {
		rep.ImagesSame++
	}
	if err := im.Content.SaveImage(ctx, content.Image{Key: key, OriginalKey: original, Alt: alt}); err != nil {
		return "", err
	}
	return key, nil
}

// safeKeyPath keeps a relative path's folders and name, with every byte
// outside [A-Za-z0-9._-] turned into '-'.
func safeKeyPath(rel string) string {
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		b := []byte(s)
		for j, c := range b {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				b[j] = '-'
			}
		}
		segs[i] = strings.Trim(string(b), ".")
		if segs[i] == "" {
			segs[i] = "_"
		}
	}
	return strings.Join(segs, "/")
}

// MinioObjects stores files with a minio client, skipping a file whose
// object already has the same size and MD5.
type MinioObjects struct {
	Client *minio.Client
}

// Put uploads body, size bytes from its start, to bucket/key unless the
// same bytes are there.
func (o MinioObjects) Put(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64) (bool, error) {
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return false, fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	h := md5.New()
	if _, err := io.CopyN(h, body, size); err != nil {
		return false, fmt.Errorf("put %s/%s: hash: %w", bucket, key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if info, err := o.Client.StatObject(ctx, bucket, key, minio.StatObjectOptions{}); err == nil &&
		info.Size == size && strings.Trim(info.ETag, `"`) == sum {
		return false, nil
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return false, fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	ct := mime.TypeByExtension(strings.ToLower(path.Ext(key)))
	if ct == "" {
		ct = "application/octet-stream"
	}
	if _, err := o.Client.PutObject(ctx, bucket, key, body, size, minio.PutObjectOptions{ContentType: ct}); err != nil {
		return false, fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return true, nil
}
