package content_test

import (
	"context"
	"strings"
	"testing"

	"site/app/content"
)

func TestMarkdownFeatures(t *testing.T) {
	md := content.NewMarkdown()
	src := "# Title\n\n## A section\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n" +
		"Note[^1].\n\n[^1]: The footnote.\n\n```go\nfunc main() {}\n```\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(1)) ~~old~~\n"
	out, err := md.Render(context.Background(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<h2 id="a-section">A section <a class="anchor" href="#a-section"`,
		"<table>", "<td>1</td>", `type="checkbox"`, "checked", `class="footnotes"`, `href="#fn:1"`,
		`<pre class="chroma">`, `<span class="kd">func</span>`, "<del>old</del>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered HTML lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"<script>", "javascript:"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered HTML has %q:\n%s", bad, out)
		}
	}
}

func TestPicturesFromVariants(t *testing.T) {
	s, _ := MustStore(t)
	ctx := context.Background()
	if err := s.SaveImage(ctx, content.Image{Key: "posts/a/cat.jpg", Width: 2000, Height: 1000, Alt: "A cat"}); err != nil {
		t.Fatal(err)
	}
	md := "![](/media/posts/a/cat.jpg) ![Unknown](/media/none.jpg)"
	out, err := s.Markdown.Render(ctx, md, s)
	if err != nil {
		t.Fatal(err)
	}
	// Before variants the picture waits as its alt text: the original is
	// never linked.
	want := `<span class="image-pending" role="img" aria-label="A cat">A cat</span>`
	if !strings.Contains(out, want) || strings.Contains(out, `src="/media/posts/a/cat.jpg"`) {
		t.Fatalf("before variants:\n%s\nwant %s", out, want)
	}
	for _, v := range []struct {
		w, h int
		f    string
	}{{480, 240, "jpeg"}, {960, 480, "jpeg"}, {480, 240, "webp"}, {960, 480, "webp"}} {
		if _, err := s.DB.Write.Exec(`INSERT INTO image_variants (image_key, width, height, format, object_key, bytes) VALUES (?,?,?,?,?,1)`,
			"posts/a/cat.jpg", v.w, v.h, v.f, "v/cat-"+v.f+"-"+string(rune('0'+v.w/480))+"."+v.f); err != nil {
			t.Fatal(err)
		}
	}
	out, err = s.Markdown.Render(ctx, md, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<picture><source type="image/webp" srcset="/media/v/cat-webp-1.webp 480w, /media/v/cat-webp-2.webp 960w" sizes=`,
		`<img src="/media/v/cat-jpeg-2.jpeg" srcset="/media/v/cat-jpeg-1.jpeg 480w, /media/v/cat-jpeg-2.jpeg 960w" sizes="` + content.SizesBody + `" width="2000" height="1000"`,
		`<img src="/media/none.jpg" alt="Unknown">`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("after variants lacks %s:\n%s", want, out)
		}
	}
	s.MediaBase = "https://cdn.example.com/public/"
	pics, _ := s.Pictures(ctx, []string{"posts/a/cat.jpg", "../x"})
	if p := pics["posts/a/cat.jpg"]; p == nil || !strings.HasPrefix(p.Src, "https://cdn.example.com/public/v/") || len(pics) != 1 {
		t.Fatalf("pictures with public_url = %+v", pics)
	}
}
