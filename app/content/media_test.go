package content_test

import (
	"context"
	"testing"
	"time"

	"site/app/content"
)

// TestUpsertImage: the one upsert of an images row. An empty or zero field
// never erases what another writer found, alt only fills an empty alt, and
// a call that changes nothing writes nothing (the content version stays).
func TestUpsertImage(t *testing.T) {
	s, _ := MustStore(t)
	ctx := context.Background()
	get := func() (orig string, w, h int, alt, ph string) {
		t.Helper()
		if err := s.DB.Read.QueryRow(`SELECT original_key, width, height, alt, placeholder FROM images WHERE key = 'posts/a/cat.jpg'`).
			Scan(&orig, &w, &h, &alt, &ph); err != nil {
			t.Fatal(err)
		}
		return
	}
	// The importer: key and original, no size.
	if err := s.SaveImage(ctx, content.Image{Key: "posts/a/cat.jpg", OriginalKey: "originals/posts/a/cat.jpg"}); err != nil {
		t.Fatal(err)
	}
	// The worker, in its transaction: upright size, placeholder, the job's alt.
	tx, err := s.DB.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := content.UpsertImage(ctx, tx, content.Image{Key: "posts/a/cat.jpg", OriginalKey: "originals/posts/a/cat.jpg",
		Width: 3000, Height: 4000, Alt: "A cat", Placeholder: "data:image/jpeg;base64,AA"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if o, w, h, alt, ph := get(); o != "originals/posts/a/cat.jpg" || w != 3000 || h != 4000 || alt != "A cat" || ph == "" {
		t.Fatalf("after the worker: %q %d×%d %q %q", o, w, h, alt, ph)
	}
	// The importer again (a re-import): nothing is erased, nothing written.
	v1, _ := s.Version(ctx)
	if err := s.SaveImage(ctx, content.Image{Key: "posts/a/cat.jpg", OriginalKey: "originals/posts/a/cat.jpg"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveImage(ctx, content.Image{Key: "posts/a/cat.jpg", Alt: "Another text"}); err != nil {
		t.Fatal(err)
	}
	if v2, _ := s.Version(ctx); v2 != v1 {
		t.Errorf("content version moved on upserts that change nothing: %d → %d", v1, v2)
	}
	if o, w, h, alt, ph := get(); o != "originals/posts/a/cat.jpg" || w != 3000 || h != 4000 || alt != "A cat" || ph == "" {
		t.Fatalf("after a re-import: %q %d×%d %q %q", o, w, h, alt, ph)
	}
	// A new size (a new original processed) replaces the old.
	if err := s.SaveImage(ctx, content.Image{Key: "posts/a/cat.jpg", Width: 800, Height: 600}); err != nil {
		t.Fatal(err)
	}
	if _, w, h, _, _ := get(); w != 800 || h != 600 {
		t.Errorf("size after a new one: %d×%d", w, h)
	}
	for _, img := range []content.Image{{Key: "../x.jpg"}, {Key: "a b.jpg"}, {Key: "ok.jpg", OriginalKey: "/etc/passwd"}} {
		if err := s.SaveImage(ctx, img); err == nil {
			t.Errorf("SaveImage(%+v) took a bad key", img)
		}
	}
}

// TestMediaVisible: readers may fetch the variants of an image only while
// an entry they can see shows it; a draft's images are not visible until
// it is published, a scheduled entry's from its time with no write, and
// originals never.
func TestMediaVisible(t *testing.T) {
	s, clk := MustStore(t)
	ctx := context.Background()
	for _, key := range []string{"posts/a/cat.jpg", "posts/a/cover.jpg", "posts/b/dog.jpg"} {
		if err := s.SaveImage(ctx, content.Image{Key: key, OriginalKey: "originals/" + key}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB.Write.Exec(`INSERT INTO image_variants (image_key, width, height, format, object_key, bytes)
			VALUES (?, 320, 240, 'jpeg', ?, 1)`, key, "variants/"+key[:len(key)-4]+"/320.jpg"); err != nil {
			t.Fatal(err)
		}
	}
	visible := func(key string) bool {
		t.Helper()
		ok, err := s.MediaVisible(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	cat, cover, dog := "variants/posts/a/cat/320.jpg", "variants/posts/a/cover/320.jpg", "variants/posts/b/dog/320.jpg"
	draft := &content.Post{Kind: content.KindPost, Slug: "a", Title: "A", Status: content.StatusDraft,
		CoverImage: "posts/a/cover.jpg", Body: "![A cat](/media/posts/a/cat.jpg \"Cat\")\n"}
	mustSave(t, s, draft)
	for _, key := range []string{cat, cover, dog, "posts/a/cat.jpg", "originals/posts/a/cat.jpg"} {
		if visible(key) {
			t.Errorf("%s visible while its only entry is a draft", key)
		}
	}
	draft.Status = content.StatusPublished
	mustSave(t, s, draft)
	if !visible(cat) || !visible(cover) {
		t.Error("variants of a just-published post are not visible")
	}
	if visible(dog) || visible("posts/a/cat.jpg") || visible("originals/posts/a/cat.jpg") || visible("../x") {
		t.Error("an unused image's variant or an original is visible")
	}
	// Scheduled: visible at its time, with no write.
	mustSave(t, s, &content.Post{Kind: content.KindPost, Slug: "b", Title: "B", Status: content.StatusScheduled,
		PublishedAt: clk.now.Add(time.Hour), Body: "![](/media/posts/b/dog.jpg)"})
	if visible(dog) {
		t.Error("a scheduled post's image visible before its time")
	}
	clk.now = clk.now.Add(time.Hour)
	if !visible(dog) {
		t.Error("a scheduled post's image not visible at its time")
	}
	// Back to draft: hidden again at once.
	draft.Status = content.StatusDraft
	mustSave(t, s, draft)
	if visible(cover) {
		t.Error("the cover of a post back in draft is visible")
	}
}
