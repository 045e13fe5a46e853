package main_test

import (
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"site/internal/testkit"
)

// ownerWritesAndPublishes drives the panel as the owner: uploads a photo
// on the media page (drag-and-drop's form, with its progress and status
// by script), writes a post showing it, publishes it, and finds the
// picture with its srcset on the public page once the worker has made the
// variants.
func ownerWritesAndPublishes(t *testing.T, ctx context.Context, site string) {
	t.Helper()
	photo := filepath.Join(t.TempDir(), "harbour.jpg")
	img := image.NewRGBA(image.Rect(0, 0, 1200, 800))
	for y := range 800 {
		for x := range 1200 {
			img.Set(x, y, color.RGBA{uint8(x / 5), uint8(y / 4), 120, 255})
		}
	}
	f, err := os.Create(photo)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(site+"/admin/media"),
		chromedp.WaitVisible(chromedp.CSS("#media-files")),
		chromedp.SendKeys(chromedp.CSS("#media-alt"), "The harbour at dusk"),
		chromedp.SetUploadFiles(chromedp.CSS("#media-files"), []string{photo}),
		chromedp.Submit(chromedp.CSS("#media-files")),
	); err != nil {
		t.Fatal(err)
	}
	// The site makes the key: the library lists it once stored.
	keyRE := regexp.MustCompile(`(uploads/\d{4}/\d{2}/harbour-[0-9a-f]+\.jpg)`)
	var key string
	testkit.WaitFor(t, time.Minute, "the upload's key in the media library", func() bool {
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if m := keyRE.FindStringSubmatch(text); err == nil && m != nil {
			key = m[1]
			return true
		}
		return false
	})
	if err := chromedp.Do(ctx,
		chromedp.Navigate(site+"/admin/posts/new"),
		chromedp.WaitVisible(chromedp.CSS("#title")),
		chromedp.SendKeys(chromedp.CSS("#title"), "By the harbour"),
		chromedp.SendKeys(chromedp.CSS("#tags"), "Photos"),
		chromedp.SendKeys(chromedp.CSS("#body"), "An evening walk.\n\n![The harbour at dusk](/media/"+key+")\n"),
	); err != nil {
		t.Fatal(err)
	}
	// The editor's script previews as the owner types, with the public
	// page's pipeline (the picture waits for its variants), and autosaves
	// the new draft.
	testkit.WaitFor(t, 30*time.Second, "the live preview and the autosave", func() bool {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`document.getElementById("preview-body").innerText + "|" + document.getElementById("autosave-status").innerText + "|" + location.pathname`))
		return err == nil && strings.Contains(state, "An evening walk.") && strings.Contains(state, "Saved") &&
			regexp.MustCompile(`\|/admin/posts/\d+$`).MatchString(state)
	})
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name="status"][value="published"]`)),
		chromedp.Click(chromedp.CSS(`button[name="action"][value="save"]`)),
	); err != nil {
		t.Fatal(err)
	}
	// The save answers with a redirect to the editor saying so (?saved=1),
	// unlike the autosave, which stays on the page.
	testkit.WaitFor(t, 30*time.Second, "the editor to say the post is saved", func() bool {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil || !regexp.MustCompile(`/admin/posts/\d+\?saved=`).MatchString(loc) {
			return false
		}
		notice, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("p.notice") || {}).innerText || ""`))
		return err == nil && notice == "Saved."
	})
	var last string // what the public page showed last, for a failure
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the public page last showed:\n%s", last)
		}
	})
	testkit.WaitFor(t, time.Minute, "the post's picture with its srcset", func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(site+"/posts/by-the-harbour")); err != nil {
			last = err.Error()
			return false
		}
		last, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML.slice(0, 4000)`))
		srcset, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector("main img[srcset]") || {getAttribute: () => ""}).getAttribute("srcset") || ""`))
		return err == nil && strings.Contains(srcset, "/media/variants/"+strings.TrimSuffix(key, ".jpg")+"/")
	})
	// The browser loads a variant through /media/ (a published entry
	// shows it); the original stays private.
	testkit.WaitFor(t, 30*time.Second, "the picture loaded", func() bool {
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("main img[srcset]").naturalWidth`))
		return err == nil && w > 0
	})
	alt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main img[srcset]").alt`))
	if err != nil || alt != "The harbour at dusk" {
		t.Errorf("the public picture's alt is %q (%v)", alt, err)
	}
}
