package export

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"site/app/content"
)

// frontMatter is an entry's metadata in the vocabulary the importer
// reads. Status is draft, or else decided by date: an entry dated later
// than the import is scheduled, an earlier one published.
type frontMatter struct {
	Title    string   `yaml:"title"`
	Slug     string   `yaml:"slug"`
	Type     string   `yaml:"type"`
	Date     string   `yaml:"date,omitempty"`
	Updated  string   `yaml:"updated,omitempty"`
	Draft    bool     `yaml:"draft"`
	Featured bool     `yaml:"featured,omitempty"`
	Tags     []string `yaml:"tags,omitempty,flow"`
	Summary  string   `yaml:"summary,omitempty"`
	Cover    string   `yaml:"cover,omitempty"`
}

// stamp formats a time for the front matter, "" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// markdown is the file of entry p: YAML front matter, then body (p.Body
// with its image links made relative), with cover the link to its cover.
func markdown(p *content.Post, body, cover string) (string, error) {
	fm := frontMatter{
		Title: p.Title, Slug: p.Slug, Type: string(p.Kind),
		Date: stamp(p.PublishedAt), Updated: stamp(p.UpdatedAt),
		Draft: p.Status == content.StatusDraft, Featured: p.Featured,
		Summary: p.Summary, Cover: cover,
	}
	for _, t := range p.Tags {
		fm.Tags = append(fm.Tags, t.Name)
	}
	head, err := yaml.Marshal(&fm)
	if err != nil {
		return "", fmt.Errorf("export: front matter of %s: %w", p.Path(), err)
	}
	var b strings.Builder
	b.WriteString("---\n")
	b.Write(head)
	b.WriteString("---\n\n")
	b.WriteString(strings.TrimSpace(body))
	b.WriteString("\n")
	return b.String(), nil
}
