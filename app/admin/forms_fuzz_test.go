package admin

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"site/app/content"
	"site/internal/testkit"
)

// FuzzPostForm posts arbitrary bodies to the editor's form reader
// (readForm, then fromForm) over a real content store: a form is refused
// as a whole with 400 or 413, or read into an entry and the editor as
// typed; an entry the form finds no problem with is one the store takes
// (saved, or its slug taken), never one it refuses, and it reads back
// from the store as the form had it.
func FuzzPostForm(f *testing.F) {
	for _, seed := range []string{
		"kind=post&title=Hello%2C+world&summary=A+first+post.&tags=go%2C+Web+Dev&status=published&published_at=2025-06-01T09%3A30&body=%23+Hello%0D%0A%0D%0AText.&action=save",
		"kind=page&title=About&slug=about&status=draft&body=", "kind=project&title=Tool&status=scheduled&published_at=2030-01-01T00%3A00%3A30",
		"kind=post&title=%E2%80%94&status=draft", "kind=post&title=x&slug=Bad+Slug&status=draft", "kind=post&title=x&status=draft&cover=posts%2Fa%2Fcat.jpg",
		"kind=post&title=x&status=draft&tags=%2C%2C+%2C%21%21", "kind=post&title=x&status=draft&body=a%00b%FF", "kind=post&title=x&status=draft&action=preview&body=%21%5Ba%5D%28%2Fmedia%2Fposts%2Fa%2Fcat.jpg%29",
		"title=%zz",
	} {
		f.Add([]byte(seed))
	}
	store := content.NewStore(testkit.DataDB(f))
	ctx := context.Background()
	if err := store.SaveImage(ctx, content.Image{Key: "posts/a/cat.jpg", Width: 640, Height: 480, Alt: "A cat"}); err != nil {
		f.Fatal(err)
	}
	a := &Admin{Content: store}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/admin/posts", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		if !readForm(w, r) {
			if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("form %q refused with %d", body, w.Code)
			}
			return
		}
		p, e := a.fromForm(r, 0)
		if e.Title != strings.TrimSpace(r.PostForm.Get("title")) || e.Body != strings.ReplaceAll(r.PostForm.Get("body"), "\r\n", "\n") {
			t.Fatalf("form %q: the editor does not show what was typed: %+v", body, e)
		}
		if r.PostForm.Get("action") == "preview" {
			if _, err := a.Content.Markdown.Render(ctx, p.Body, a.Content); err != nil {
				t.Fatalf("form %q: preview: %v", body, err)
			}
		}
		if len(e.Problems) > 0 {
			return
		}
		err := a.Content.Create(ctx, p)
		if errors.Is(err, content.ErrSlugTaken) {
			return
		}
		if err != nil {
			t.Fatalf("form %q found no problem, but the store refuses the entry: %v", body, err)
		}
		got, err := a.Content.GetByID(ctx, p.ID)
		if err != nil {
			t.Fatalf("form %q: entry %d saved but not read back: %v", body, p.ID, err)
		}
		if got.Kind != p.Kind || got.Status != p.Status || got.Title != e.Title || got.Slug != p.Slug ||
			got.Summary != e.Summary || got.Body != e.Body || got.CoverImage != e.Cover || len(got.Tags) != len(p.Tags) {
			t.Fatalf("form %q: stored\n%+v\nfrom the form's\n%+v", body, got, p)
		}
	})
}

// uploadKeyRE is the shape of every key an upload is stored under.
var uploadKeyRE = regexp.MustCompile(`^uploads/\d{4}/\d{2}/[a-z0-9]+(?:-[a-z0-9]+)*-[0-9a-f]{8}\.(?:jpg|png|gif|webp)$`)

// FuzzUploadKey: whatever an uploaded file is called, the key it is
// stored under is made by the site: a valid object key under uploads/ of
// the month, its name's letters and digits (at most 60 bytes, never a
// path, a dot segment or anything a URL or shell would read), a random
// suffix and the format's extension.
func FuzzUploadKey(f *testing.F) {
	for _, name := range []string{
		"IMG_2041.JPG", "Cat photo (1).png", `C:\Users\ada\Pictures\cat.webp`, "../../etc/passwd", "..", "", ".hidden",
		"été à Paris.jpeg", "a/b/c.gif", "<script>.png", strings.Repeat("long", 40) + ".jpg", "-.-", "%2e%2e%2fx.png",
	} {
		f.Add(name, uint8(0))
	}
	formats := []string{"jpeg", "png", "gif", "webp"}
	now := time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name string, format uint8) {
		ext := formats[int(format)%len(formats)]
		key, err := uploadKey(name, ext, now)
		if err != nil {
			t.Fatalf("uploadKey(%q): %v", name, err)
		}
		if !content.ValidKey(key) || !uploadKeyRE.MatchString(key) || !strings.HasPrefix(key, "uploads/2025/06/") ||
			!strings.HasSuffix(key, extensions[ext]) {
			t.Fatalf("uploadKey(%q, %s) = %q", name, ext, key)
		}
		if slug := slugify(name); len(slug) > 60 || slug == "" {
			t.Fatalf("slugify(%q) = %q", name, slug)
		}
	})
}
