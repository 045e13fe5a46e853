package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"site/app/content"
	"site/assets"
	"site/views"
)

// perPage is the length of a page of a list.
const perPage = 10

// publicRoutes is the public group: the pages, feeds, sitemap and /media/,
// behind the page cache (page).
func (s *Server) publicRoutes() []Route {
	routes := []Route{
		{"GET /{$}", s.page(byPath, s.home)},
		{"GET /posts/{$}", s.page(byPage, s.list(content.KindPost))},
		{"GET /posts/{slug}", s.page(byPath, s.entry(content.KindPost))},
		{"GET /projects/{$}", s.page(byPage, s.list(content.KindProject))},
		{"GET /projects/{slug}", s.page(byPath, s.entry(content.KindProject))},
		{"GET /tags/{$}", s.page(byPath, s.tags)},
		{"GET /tags/{tag}", s.page(byPage, s.tagPage)},
		{"GET /archive", s.page(byPath, s.archive)},
		{"GET /search", s.limitSearches(s.page(noCache, s.search))},
		{"GET /about", s.page(byPath, s.about)},
		{"GET /{slug}", s.page(byPath, s.entry(content.KindPage))},
	}
	for _, f := range feedFormats {
		routes = append(routes, Route{"GET /" + f.file, s.page(byPath, s.feed(f))},
			Route{"GET /tags/{tag}/" + f.file, s.page(byPath, s.feed(f))})
	}
	routes = append(routes,
		Route{"GET /sitemap.xml", s.page(byPath, s.sitemap)},
		Route{"GET /robots.txt", s.page(byPath, s.robots)},
		Route{"GET /favicon.ico", s.page(byPath, s.favicon)},
		Route{"GET " + content.MediaPrefix + "{key...}", http.HandlerFunc(s.media)})
	for _, p := range []string{"/posts", "/projects", "/tags"} {
		routes = append(routes, Route{"GET " + p, http.RedirectHandler(p+"/", http.StatusMovedPermanently)})
	}
	return routes
}

// noCache keeps a page out of the cache.
func noCache(*http.Request) string { return "" }

// pageNumber reads ?page=N; 0 when it is not a page number.
func pageNumber(r *http.Request) int {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		return 0
	}
	return n
}

// byPage caches a paginated list by path and page number.
func byPage(r *http.Request) string {
	n := pageNumber(r)
	if n <= 1 {
		return r.URL.Path
	}
	return r.URL.Path + "?page=" + strconv.Itoa(n)
}

// abs makes a site path absolute with the base URL.
func (s *Server) abs(path string) string {
	if strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "//") {
		return s.BaseURL + path
	}
	return path
}

// covers looks up the cover pictures of posts.
func (s *Server) covers(r *http.Request, posts ...[]*content.Post) (views.Covers, error) {
	var keys []string
	for _, list := range posts {
		for _, p := range list {
			if p.CoverImage != "" {
				keys = append(keys, p.CoverImage)
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return s.Content.Pictures(r.Context(), keys)
}

func (s *Server) home(r *http.Request) (result, error) {
	p := s.pageMeta(r, "", "home")
	if s.Content == nil {
		return result{Component: views.Home(p, nil, nil, nil)}, nil
	}
	posts, _, err := s.Content.List(r.Context(), content.Query{Kind: content.KindPost, Limit: perPage})
	if err != nil {
		return result{}, err
	}
	projects, _, err := s.Content.List(r.Context(), content.Query{Kind: content.KindProject, Featured: true, Limit: 6})
	if err != nil {
		return result{}, err
	}
	covers, err := s.covers(r, posts, projects)
	if err != nil {
		return result{}, err
	}
	p.JSONLD = jsonLD(map[string]any{"@context": "https://schema.org", "@type": "WebSite", "name": s.SiteName,
		"url": s.BaseURL + "/", "description": s.Description,
		"potentialAction": map[string]any{"@type": "SearchAction", "target": s.BaseURL + "/search?q={query}", "query-input": "required name=query"}})
	return result{Component: views.Home(p, posts, projects, covers)}, nil
}

// list is the paginated list of posts or projects.
func (s *Server) list(kind content.Kind) pageFunc {
	heading, section := "Posts", "posts"
	if kind == content.KindProject {
		heading, section = "Projects", "projects"
	}
	return func(r *http.Request) (result, error) {
		return s.listPage(r, content.Query{Kind: kind}, heading, "", section)
	}
}

func (s *Server) listPage(r *http.Request, q content.Query, heading, intro, section string) (result, error) {
	n := pageNumber(r)
	if n == 0 || s.Content == nil {
		return result{}, content.ErrNotFound
	}
	q.Offset, q.Limit = (n-1)*perPage, perPage
	posts, total, err := s.Content.List(r.Context(), q)
	if err != nil {
		return result{}, err
	}
	pages := max(1, (total+perPage-1)/perPage)
	if n > pages {
		return result{}, content.ErrNotFound
	}
	pager := views.Pager{Page: n, Pages: pages}
	if n > 1 {
		pager.Prev = r.URL.Path
		if n > 2 {
			pager.Prev += "?page=" + strconv.Itoa(n-1)
		}
	}
	if n < pages {
		pager.Next = r.URL.Path + "?page=" + strconv.Itoa(n+1)
	}
	covers, err := s.covers(r, posts)
	if err != nil {
		return result{}, err
	}
	title := heading
	if n > 1 {
		title += " (page " + strconv.Itoa(n) + ")"
	}
	p := s.pageMeta(r, title, section)
	if n > 1 {
		p.CanonicalURL += "?page=" + strconv.Itoa(n)
	}
	if q.Tag != "" {
		p.Feeds = append(p.Feeds,
			views.Feed{Type: "application/rss+xml", Title: heading + " (RSS)", URL: "/tags/" + q.Tag + "/feed.xml"},
			views.Feed{Type: "application/atom+xml", Title: heading + " (Atom)", URL: "/tags/" + q.Tag + "/atom.xml"},
			views.Feed{Type: "application/feed+json", Title: heading + " (JSON Feed)", URL: "/tags/" + q.Tag + "/feed.json"})
	}
	return result{Component: views.List(p, heading, intro, posts, covers, pager)}, nil
}

func (s *Server) tagPage(r *http.Request) (result, error) {
	slug := r.PathValue("tag")
	if s.Content == nil || !content.ValidSlug(slug) {
		return result{}, content.ErrNotFound
	}
	tag, err := s.Content.Tag(r.Context(), slug)
	if err != nil {
		return result{}, err
	}
	intro := strconv.Itoa(tag.Count) + " posts"
	if tag.Count == 1 {
		intro = "One post"
	}
	return s.listPage(r, content.Query{Kind: content.KindPost, Tag: slug}, "Tagged “"+tag.Name+"”", intro, "tags")
}

func (s *Server) tags(r *http.Request) (result, error) {
	var tags []content.Tag
	if s.Content != nil {
		var err error
		if tags, err = s.Content.Tags(r.Context()); err != nil {
			return result{}, err
		}
	}
	return result{Component: views.Tags(s.pageMeta(r, "Tags", "tags"), tags)}, nil
}

func (s *Server) archive(r *http.Request) (result, error) {
	var years []views.YearGroup
	if s.Content != nil {
		posts, _, err := s.Content.List(r.Context(), content.Query{Kind: content.KindPost})
		if err != nil {
			return result{}, err
		}
		for _, p := range posts {
			y := p.PublishedAt.Year()
			if len(years) == 0 || years[len(years)-1].Year != y {
				years = append(years, views.YearGroup{Year: y})
			}
			years[len(years)-1].Posts = append(years[len(years)-1].Posts, p)
		}
	}
	return result{Component: views.Archive(s.pageMeta(r, "Archive", "archive"), years)}, nil
}

func (s *Server) search(r *http.Request) (result, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		q = q[:200]
	}
	var hits []content.Hit
	if s.Content != nil && q != "" {
		var err error
		if hits, err = s.Content.Search(r.Context(), q, 50); err != nil {
			return result{}, err
		}
	}
	title := "Search"
	if q != "" {
		title = "Search: " + q
	}
	p := s.pageMeta(r, title, "search")
	p.NoIndex, p.Query = true, q
	return result{Component: views.Search(p, q, hits), NoStore: true}, nil
}

// entry is the page of one post, project or page.
func (s *Server) entry(kind content.Kind) pageFunc {
	return func(r *http.Request) (result, error) {
		slug := r.PathValue("slug")
		if s.Content == nil || !content.ValidSlug(slug) {
			return result{}, content.ErrNotFound
		}
		post, err := s.Content.Get(r.Context(), kind, slug)
		if err != nil {
			return result{}, err
		}
		return s.entryPage(r, post)
	}
}

func (s *Server) about(r *http.Request) (result, error) {
	if s.Content != nil {
		post, err := s.Content.Get(r.Context(), content.KindPage, "about")
		if err == nil {
			return s.entryPage(r, post)
		}
		if err != content.ErrNotFound {
			return result{}, err
		}
	}
	body := s.Description
	if body == "" {
		body = "This is " + s.SiteName + "."
	}
	if s.Author != "" {
		body += "\n\nWritten by " + s.Author + "."
	}
	post := &content.Post{Kind: content.KindPage, Slug: "about", Title: "About", Body: body}
	return s.entryPage(r, post)
}

func (s *Server) entryPage(r *http.Request, post *content.Post) (result, error) {
	var md *content.Markdown
	var pics content.Pictures
	if s.Content != nil {
		md, pics = s.Content.Markdown, s.Content
	} else {
		md = content.NewMarkdown()
	}
	body, err := md.Render(r.Context(), post.Body, pics)
	if err != nil {
		return result{}, err
	}
	var cover *content.Picture
	if post.CoverImage != "" && s.Content != nil {
		found, err := s.Content.Pictures(r.Context(), []string{post.CoverImage})
		if err != nil {
			return result{}, err
		}
		cover = found[post.CoverImage]
	}
	section := map[content.Kind]string{content.KindPost: "posts", content.KindProject: "projects"}[post.Kind]
	if post.Slug == "about" && post.Kind == content.KindPage {
		section = "about"
	}
	p := s.pageMeta(r, post.Title, section)
	if post.Summary != "" {
		p.Description = post.Summary
	}
	if cover != nil {
		p.Image = s.abs(cover.Src)
	}
	if post.Kind == content.KindPost {
		p.Scripts = append(p.Scripts, "post.js") // reader count and live events (app/live.Posts)
	}
	if post.Kind != content.KindPage {
		p.Type, p.Published, p.Modified = "article", post.PublishedAt, post.UpdatedAt
		ld := map[string]any{
			"@context": "https://schema.org", "@type": "BlogPosting", "headline": post.Title,
			"datePublished": post.PublishedAt.Format("2006-01-02T15:04:05Z07:00"),
			"dateModified":  post.UpdatedAt.Format("2006-01-02T15:04:05Z07:00"),
			"url":           p.CanonicalURL, "mainEntityOfPage": p.CanonicalURL,
			"publisher": map[string]any{"@type": "Organization", "name": s.SiteName},
		}
		if post.Kind == content.KindProject {
			ld["@type"] = "Article"
		}
		if post.Summary != "" {
			ld["description"] = post.Summary
		}
		if s.Author != "" {
			ld["author"] = map[string]any{"@type": "Person", "name": s.Author}
		}
		if p.Image != "" {
			ld["image"] = p.Image
		}
		if len(post.Tags) > 0 {
			var kw []string
			for _, t := range post.Tags {
				kw = append(kw, t.Name)
			}
			ld["keywords"] = strings.Join(kw, ", ")
		}
		p.JSONLD = jsonLD(ld)
	}
	var extra EntryExtra
	if s.EntryExtras != nil {
		if extra, err = s.EntryExtras(r, post); err != nil {
			return result{}, err
		}
		p.Scripts = append(p.Scripts, extra.Scripts...)
	}
	return result{Component: views.PostPage(p, post, body, cover, extra.Component)}, nil
}

// jsonLD marshals structured data for a <script> element: encoding/json
// escapes <, > and &, so the text cannot close the element.
func jsonLD(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func (s *Server) robots(r *http.Request) (result, error) {
	body := "User-agent: *\nAllow: /\nDisallow: /search\nDisallow: /admin/\n\nSitemap: " + s.BaseURL + "/sitemap.xml\n"
	return result{Body: []byte(body), ContentType: "text/plain; charset=utf-8", CacheControl: "public, max-age=86400"}, nil
}

func (s *Server) favicon(r *http.Request) (result, error) {
	return result{Body: assets.Bytes("favicon.svg"), ContentType: "image/svg+xml", CacheControl: "public, max-age=604800"}, nil
}
