package testkit

import (
	"fmt"
	"html"
	"maps"
	"regexp"
	"strings"
	"sync"
)

var (
	pageTagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:"[^"]*"|'[^']*'|[^>"'])*)>`)
	pageAttrRE = regexp.MustCompile(`[\s/]([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']*))?`)
	scriptURL  = regexp.MustCompile(`(?i)^[\x00-\x20]*(javascript|vbscript|data):`)
)

// Markup reads the tags of pages the site writes (fuzz targets check that
// no input puts markup of its own on a page), remembering the elements
// seen. The zero Markup is ready.
type Markup struct {
	mu   sync.Mutex
	seen map[string]bool
}

// Check reads page's tags: bad names an inline handler (on…=), a style
// attribute or a script address on any of them (the site's pages have
// none: its Content-Security-Policy refuses them); tag is the first
// element not seen before, which it then records, "" when every one was.
func (m *Markup) Check(page string) (tag, bad string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	for _, t := range pageTagRE.FindAllStringSubmatch(page, -1) {
		name := strings.ToLower(t[1])
		for _, a := range pageAttrRE.FindAllStringSubmatch(t[2], -1) {
			attr := strings.ToLower(a[1])
			value := html.UnescapeString(strings.Trim(a[2], `"'`))
			if strings.HasPrefix(attr, "on") || attr == "style" || scriptURL.MatchString(value) {
				return "", fmt.Sprintf("%s=%s on <%s>", attr, a[2], name)
			}
		}
		if !m.seen[name] && tag == "" {
			tag = name
		}
		m.seen[name] = true
	}
	return tag, ""
}

// Seen returns the elements seen so far.
func (m *Markup) Seen() map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.seen)
}
