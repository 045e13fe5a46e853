package importer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// frontMatter is the metadata of one Markdown file, in the Hugo / Jekyll
// vocabulary.
type frontMatter struct {
	Title       string
	Date        time.Time
	Updated     time.Time
	Tags        []string
	Draft       bool
	HasDraft    bool
	Slug        string
	Summary     string
	Type        string
	Cover       string
	Featured    bool
	PublishDate time.Time
}

// splitFrontMatter separates the front matter (--- YAML --- or +++ TOML +++)
// from the body and decodes it into a map.
func splitFrontMatter(src []byte) (map[string]any, []byte, error) {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	var delim string
	switch {
	case bytes.HasPrefix(src, []byte("---\n")):
		delim = "---"
	case bytes.HasPrefix(src, []byte("+++\n")):
		delim = "+++"
	default:
		return map[string]any{}, src, nil
	}
	rest := src[4:]
	var head []byte
	var body []byte
	if bytes.HasPrefix(rest, []byte(delim+"\n")) || bytes.Equal(rest, []byte(delim)) {
		head, body = nil, bytes.TrimPrefix(bytes.TrimPrefix(rest, []byte(delim)), []byte("\n"))
	} else {
		i := bytes.Index(rest, []byte("\n"+delim+"\n"))
		if i < 0 {
			if bytes.HasSuffix(rest, []byte("\n"+delim)) {
				i = len(rest) - len(delim) - 1
			} else {
				return nil, nil, fmt.Errorf("front matter opened with %s is never closed", delim)
			}
		}
		head = rest[:i]
		body = rest[min(len(rest), i+len(delim)+2):]
	}
	m := map[string]any{}
	if delim == "---" {
		if err := yaml.Unmarshal(head, &m); err != nil {
			return nil, nil, fmt.Errorf("YAML front matter: %w", err)
		}
	} else {
		if _, err := toml.Decode(string(head), &m); err != nil {
			return nil, nil, fmt.Errorf("TOML front matter: %w", err)
		}
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, body, nil
}

// decodeFrontMatter reads the fields the site uses; unknown ones are ignored.
func decodeFrontMatter(m map[string]any) (frontMatter, error) {
	var fm frontMatter
	var errs []error
	str := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := m[k]; ok && v != nil {
				return strings.TrimSpace(fmt.Sprint(v))
			}
		}
		return ""
	}
	when := func(keys ...string) time.Time {
		for _, k := range keys {
			if v, ok := m[k]; ok && v != nil {
				t, err := toTime(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", k, err))
				}
				return t
			}
		}
		return time.Time{}
	}
	fm.Title = str("title")
	fm.Slug = str("slug")
	fm.Summary = str("summary", "description", "excerpt")
	fm.Type = strings.ToLower(str("type", "layout"))
	fm.Date = when("date")
	fm.Updated = when("lastmod", "updated", "last_modified_at", "modified")
	fm.PublishDate = when("publishDate", "publishdate", "publish_date")
	if v, ok := m["draft"]; ok {
		fm.HasDraft = true
		fm.Draft = truthy(v)
	}
	if v, ok := m["published"]; ok && !truthy(v) {
		fm.HasDraft, fm.Draft = true, true
	}
	fm.Featured = truthy(m["featured"])
	fm.Tags = stringList(m["tags"])
	fm.Cover = coverOf(m)
	return fm, errors.Join(errs...)
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true" || v == "yes" || v == "1"
	case int, int64:
		return fmt.Sprint(v) != "0"
	}
	return false
}

// stringList reads a list of strings, or a single string split at commas
// (Jekyll allows "tags: a b" too, split at spaces when no comma).
func stringList(v any) []string {
	var out []string
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			if s := strings.TrimSpace(fmt.Sprint(x)); s != "" {
				out = append(out, s)
			}
		}
	case []string:
		out = v
	case string:
		sep := ","
		if !strings.Contains(v, ",") {
			sep = " "
		}
		for _, s := range strings.Split(v, sep) {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// coverOf finds the cover image: cover, image, featured_image, the first
// of images, or cover.image (Hugo themes' map form).
func coverOf(m map[string]any) string {
	for _, k := range []string{"cover", "image", "featured_image", "featureImage", "images"} {
		switch v := m[k].(type) {
		case string:
			return strings.TrimSpace(v)
		case []any:
			if len(v) > 0 {
				if s, ok := v[0].(string); ok {
					return strings.TrimSpace(s)
				}
			}
		case map[string]any:
			if s, ok := v["image"].(string); ok {
				return strings.TrimSpace(s)
			}
		}
	}
	return ""
}

var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 -07:00",
	"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02",
}

func toTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		if n := v.Location().String(); n == "datetime-local" || n == "date-local" {
			// A TOML local date or date-time: taken as UTC.
			return time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), 0, time.UTC), nil
		}
		return v.UTC(), nil
	case string:
		s := strings.TrimSpace(v)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%q is not a date (use 2006-01-02 or RFC 3339)", s)
	}
	return time.Time{}, fmt.Errorf("%v is not a date", v)
}
