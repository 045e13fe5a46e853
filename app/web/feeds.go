package web

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"site/app/content"
	"site/views"
)

// feedLength is the number of posts in a feed.
const feedLength = 20

// feedFormat is one of the three feed formats.
type feedFormat struct {
	file, contentType string
	build             func(s *Server, f feedData) ([]byte, error)
}

var feedFormats = []feedFormat{
	{"feed.xml", "application/rss+xml; charset=utf-8", (*Server).rss},
	{"atom.xml", "application/atom+xml; charset=utf-8", (*Server).atom},
	{"feed.json", "application/feed+json; charset=utf-8", (*Server).jsonFeed},
}

// feedData is what every format needs: the posts with their HTML.
type feedData struct {
	title, link, self, description string
	updated                        time.Time
	posts                          []*content.Post
	html                           []string
	covers                         views.Covers // the posts' cover pictures (variants only)
}

// feed serves the feed of all posts, or of a tag's posts.
func (s *Server) feed(f feedFormat) pageFunc {
	return func(r *http.Request) (result, error) {
		d := feedData{title: s.SiteName, link: s.BaseURL + "/", self: s.BaseURL + r.URL.Path, description: s.Description}
		q := content.Query{Kind: content.KindPost, Limit: feedLength}
		if tag := r.PathValue("tag"); tag != "" {
			if s.Content == nil || !content.ValidSlug(tag) {
				return result{}, content.ErrNotFound
			}
			t, err := s.Content.Tag(r.Context(), tag)
			if err != nil {
				return result{}, err
			}
			q.Tag = tag
			d.title = s.SiteName + ": " + t.Name
			d.link = s.BaseURL + t.Path()
		}
		if s.Content != nil {
			var err error
			if d.posts, _, err = s.Content.List(r.Context(), q); err != nil {
				return result{}, err
			}
			if d.covers, err = s.covers(r, d.posts); err != nil {
				return result{}, err
			}
			for _, p := range d.posts {
				h, err := s.feedHTML(r.Context(), p)
				if err != nil {
					return result{}, err
				}
				d.html = append(d.html, h)
				if t := latest(p); t.After(d.updated) {
					d.updated = t
				}
			}
		}
		if d.updated.IsZero() {
			d.updated = time.Unix(0, 0).UTC()
		}
		body, err := f.build(s, d)
		if err != nil {
			return result{}, err
		}
		return result{Body: body, ContentType: f.contentType, CacheControl: "public, max-age=300"}, nil
	}
}

func latest(p *content.Post) time.Time {
	if p.UpdatedAt.After(p.PublishedAt) {
		return p.UpdatedAt
	}
	return p.PublishedAt
}

// feedHTML renders a post for feed readers, with absolute links.
func (s *Server) feedHTML(ctx context.Context, p *content.Post) (string, error) {
	h, err := s.Content.Markdown.Render(ctx, p.Body, s.Content)
	if err != nil {
		return "", err
	}
	b := s.BaseURL
	return strings.NewReplacer(` src="/`, ` src="`+b+`/`, ` href="/`, ` href="`+b+`/`,
		` srcset="/`, ` srcset="`+b+`/`, `, /media/`, `, `+b+`/media/`).Replace(h), nil
}

type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Atom    string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title       string    `xml:"title"`
	Self        rssLink   `xml:"atom:link"`
	Link        string    `xml:"link"`
	Description string    `xml:"description"`
	Language    string    `xml:"language,omitempty"`
	LastBuild   string    `xml:"lastBuildDate"`
	Generator   string    `xml:"generator"`
	Items       []rssItem `xml:"item"`
}

type rssLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	GUID        rssGUID  `xml:"guid"`
	PubDate     string   `xml:"pubDate"`
	Description string   `xml:"description"`
	Categories  []string `xml:"category"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

func (s *Server) rss(d feedData) ([]byte, error) {
	desc := d.description
	if desc == "" {
		desc = "Posts from " + s.SiteName
	}
	doc := rssDoc{Version: "2.0", Atom: "http://www.w3.org/2005/Atom", Channel: rssChannel{
		Title: d.title, Link: d.link, Self: rssLink{Href: d.self, Rel: "self", Type: "application/rss+xml"},
		Description: desc, Language: s.Language, LastBuild: d.updated.Format(time.RFC1123Z), Generator: "site",
	}}
	for i, p := range d.posts {
		item := rssItem{Title: p.Title, Link: s.abs(p.Path()), GUID: rssGUID{IsPermaLink: "true", Value: s.abs(p.Path())},
			PubDate: p.PublishedAt.Format(time.RFC1123Z), Description: d.html[i]}
		for _, t := range p.Tags {
			item.Categories = append(item.Categories, t.Name)
		}
		doc.Channel.Items = append(doc.Channel.Items, item)
	}
	return marshalXML(doc)
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr,omitempty"`
	Title   string      `xml:"title"`
	Sub     string      `xml:"subtitle,omitempty"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  *atomAuthor `xml:"author,omitempty"`
	Gen     string      `xml:"generator"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomCategory struct {
	Term  string `xml:"term,attr"`
	Label string `xml:"label,attr"`
}

type atomEntry struct {
	Title      string         `xml:"title"`
	ID         string         `xml:"id"`
	Link       atomLink       `xml:"link"`
	Published  string         `xml:"published"`
	Updated    string         `xml:"updated"`
	Summary    *atomText      `xml:"summary,omitempty"`
	Content    atomText       `xml:"content"`
	Categories []atomCategory `xml:"category"`
}

func (s *Server) atom(d feedData) ([]byte, error) {
	author := s.Author
	if author == "" {
		author = s.SiteName
	}
	f := atomFeed{Lang: s.Language, Title: d.title, Sub: d.description, ID: d.link, Updated: d.updated.Format(time.RFC3339),
		Links:  []atomLink{{Href: d.link, Rel: "alternate", Type: "text/html"}, {Href: d.self, Rel: "self", Type: "application/atom+xml"}},
		Author: &atomAuthor{Name: author}, Gen: "site"}
	for i, p := range d.posts {
		e := atomEntry{Title: p.Title, ID: s.abs(p.Path()), Link: atomLink{Href: s.abs(p.Path()), Rel: "alternate", Type: "text/html"},
			Published: p.PublishedAt.Format(time.RFC3339), Updated: latest(p).Format(time.RFC3339),
			Content: atomText{Type: "html", Body: d.html[i]}}
		if p.Summary != "" {
			e.Summary = &atomText{Type: "text", Body: p.Summary}
		}
		for _, t := range p.Tags {
			e.Categories = append(e.Categories, atomCategory{Term: t.Slug, Label: t.Name})
		}
		f.Entries = append(f.Entries, e)
	}
	return marshalXML(f)
}

func marshalXML(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

type jsonFeedDoc struct {
	Version     string         `json:"version"`
	Title       string         `json:"title"`
	HomePageURL string         `json:"home_page_url"`
	FeedURL     string         `json:"feed_url"`
	Description string         `json:"description,omitempty"`
	Language    string         `json:"language,omitempty"`
	Authors     []jsonAuthor   `json:"authors,omitempty"`
	Items       []jsonFeedItem `json:"items"`
}

type jsonAuthor struct {
	Name string `json:"name"`
}

type jsonFeedItem struct {
	ID            string   `json:"id"`
	URL           string   `json:"url"`
	Title         string   `json:"title"`
	ContentHTML   string   `json:"content_html"`
	Summary       string   `json:"summary,omitempty"`
	Image         string   `json:"image,omitempty"`
	DatePublished string   `json:"date_published"`
	DateModified  string   `json:"date_modified"`
	Tags          []string `json:"tags,omitempty"`
}

func (s *Server) jsonFeed(d feedData) ([]byte, error) {
	f := jsonFeedDoc{Version: "https://jsonfeed.org/version/1.1", Title: d.title, HomePageURL: d.link, FeedURL: d.self,
		Description: d.description, Language: s.Language, Items: []jsonFeedItem{}}
	if s.Author != "" {
		f.Authors = []jsonAuthor{{Name: s.Author}}
	}
	for i, p := range d.posts {
		it := jsonFeedItem{ID: s.abs(p.Path()), URL: s.abs(p.Path()), Title: p.Title, ContentHTML: d.html[i], Summary: p.Summary,
			DatePublished: p.PublishedAt.Format(time.RFC3339), DateModified: latest(p).Format(time.RFC3339)}
		// The cover's largest variant: the original is never served, and
		// until variants exist the item goes without an image.
		if c := d.covers.Cover(p.CoverImage); c != nil && !c.Pending() {
			it.Image = s.abs(c.Src)
		}
		for _, t := range p.Tags {
			it.Tags = append(it.Tags, t.Name)
		}
		f.Items = append(f.Items, it)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	return append(b, '\n'), err
}

type urlset struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []smURL  `xml:"url"`
}

type smURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// sitemap lists every page a search engine should know.
func (s *Server) sitemap(r *http.Request) (result, error) {
	set := urlset{}
	add := func(path string, t time.Time) {
		u := smURL{Loc: s.abs(path)}
		if !t.IsZero() {
			u.LastMod = t.UTC().Format("2006-01-02")
		}
		set.URLs = append(set.URLs, u)
	}
	add("/", time.Time{})
	for _, p := range []string{"/posts/", "/projects/", "/tags/", "/archive", "/about"} {
		add(p, time.Time{})
	}
	if s.Content != nil {
		for _, k := range []content.Kind{content.KindPost, content.KindProject, content.KindPage} {
			posts, _, err := s.Content.List(r.Context(), content.Query{Kind: k})
			if err != nil {
				return result{}, err
			}
			for _, p := range posts {
				if p.Kind == content.KindPage && p.Slug == "about" {
					continue
				}
				add(p.Path(), latest(p))
			}
		}
		tags, err := s.Content.Tags(r.Context())
		if err != nil {
			return result{}, err
		}
		for _, t := range tags {
			add(t.Path(), time.Time{})
		}
	}
	body, err := marshalXML(set)
	if err != nil {
		return result{}, err
	}
	return result{Body: body, ContentType: "application/xml; charset=utf-8", CacheControl: "public, max-age=3600"}, nil
}
