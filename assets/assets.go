// Package assets embeds the site's CSS, scripts and icons and serves them
// under content-hashed URLs, so they can be cached for a year.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/assets/"

type asset struct {
	body        []byte
	contentType string
	hashedName  string
}

var (
	byHashed = map[string]*asset{}
	byName   = map[string]*asset{}
)

func init() {
	_ = fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a := &asset{body: body, contentType: mime.TypeByExtension(ext), hashedName: hashed}
		byHashed[hashed] = a
		byName[name] = a
		return nil
	})
}

// URL returns the content-hashed URL of the asset called name, e.g.
// "site.css" → "/assets/site.3f2a9c01b2d4.css". An unknown name panics:
// it is a programming error caught by any test that renders the page.
func URL(name string) string {
	a, ok := byName[name]
	if !ok {
		panic("assets: unknown asset " + name)
	}
	return Prefix + a.hashedName
}

// Bytes returns the content of the asset called name; an unknown name
// panics, like URL.
func Bytes(name string) []byte {
	a, ok := byName[name]
	if !ok {
		panic("assets: unknown asset " + name)
	}
	return a.body
}

// Handler serves assets by hashed name with a one-year immutable cache.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := byHashed[strings.TrimPrefix(r.URL.Path, Prefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(a.body)
	})
}
