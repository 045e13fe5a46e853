package views

import (
	"strconv"
	"time"

	"site/app/content"
)

// Page is what every page's layout needs to know.
type Page struct {
	// Title is the page's own title; the site name follows it.
	Title string
	// SiteName is the name of the site.
	SiteName string
	// Description is the summary used in the meta description and cards.
	Description string
	// CanonicalURL is the absolute URL of the page.
	CanonicalURL string
	// Lang is the language of the page, e.g. "en".
	Lang string
	// Type is the OpenGraph type: "website" or "article".
	Type string
	// Image is the absolute URL of the card image, or "".
	Image string
	// Author names the author in meta tags.
	Author string
	// Published and Modified date an article.
	Published, Modified time.Time
	// JSONLD is structured data (already JSON) for search engines, or "".
	JSONLD string
	// Feeds are the alternate feeds of the page.
	Feeds []Feed
	// Section is the part of the site the page belongs to, for the menu.
	Section string
	// Query is the search box's text.
	Query string
	// NoIndex asks search engines not to index the page.
	NoIndex bool
	// Scripts name assets (e.g. "passkey.js") the page loads as modules, in
	// order; pages work without them, they only enhance them.
	Scripts []string
}

// Feed is a link to a feed of the page.
type Feed struct {
	Type, Title, URL string
}

// Pager links the pages of a paginated list.
type Pager struct {
	Page, Pages int
	Prev, Next  string
}

// YearGroup is one year of the archive.
type YearGroup struct {
	Year  int
	Posts []*content.Post
}

// Covers maps an image key to its picture, for entry covers.
type Covers map[string]*content.Picture

// Cover returns the picture of key, or nil.
func (c Covers) Cover(key string) *content.Picture {
	if c == nil || key == "" {
		return nil
	}
	return c[key]
}

func title(p Page) string {
	if p.Title == "" {
		return p.SiteName
	}
	return p.Title + " · " + p.SiteName
}

func lang(p Page) string {
	if p.Lang == "" {
		return "en"
	}
	return p.Lang
}

func isoDate(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func humanDate(t time.Time) string { return t.UTC().Format("2 January 2006") }

func shortDate(t time.Time) string { return t.UTC().Format("02 Jan") }

func navClass(p Page, section string) string {
	if p.Section == section {
		return "current"
	}
	return ""
}

func ariaCurrent(p Page, section string) string {
	if p.Section == section {
		return "page"
	}
	return "false"
}

func itoa(n int) string { return strconv.Itoa(n) }
