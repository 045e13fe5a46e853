package stats

import (
	"context"
	"encoding/json"
	"fmt"

	"site/app/content"
)

// Table is one of the reports that rank keys by views: pages, posts,
// referrers, UTM sources, countries, browsers, OS, devices and bots.
type Table struct {
	// Name names the table in URLs and file names.
	Name string
	// Title is the table's heading; Key the heading of its first column.
	Title, Key string
	// Visitors heads the visitors column, or is "" when the table has
	// none (bots are not visitors).
	Visitors string
	// Note says what the table counts, or is "".
	Note string

	src source
}

// Tables are the reports, in the order the pages show them.
var Tables = []Table{
	{Name: "pages", Title: "Top pages", Key: "Page", Visitors: "Entrances",
		Note: "Entrances are visitors whose first view of the day was this page.",
		src:  source{key: "path", daily: "views_daily", monthly: "views_monthly"}},
	{Name: "posts", Title: "Posts, projects and pages", Key: "Entry", Visitors: "Entrances",
		Note: "Every entry that is not a draft, by its address on the site; entrances as for pages.",
		src:  source{key: "path", daily: "views_daily", monthly: "views_monthly"}},
	{Name: "referrers", Title: "Referrers", Key: "Site", Visitors: "Visitors",
		Note: "Views that came from a link on another site; visitors are those whose first view of the day came from it.",
		src:  dim("referrer")},
	{Name: "utm", Title: "UTM sources", Key: "utm_source", Visitors: "Visitors",
		Note: "Views of addresses carrying utm_source, as sent (lowercased).", src: dim("utm")},
	{Name: "countries", Title: "Countries", Key: "Country", Visitors: "Visitors", src: dim("country")},
	{Name: "browsers", Title: "Browsers", Key: "Browser", Visitors: "Visitors", src: dim("browser")},
	{Name: "os", Title: "Operating systems", Key: "OS", Visitors: "Visitors", src: dim("os")},
	{Name: "devices", Title: "Devices", Key: "Device", Visitors: "Visitors", src: dim("device")},
	{Name: "bots", Title: "Bots", Key: "Bot",
		Note: "Crawlers and tools, recognized by their user agent: counted here, never as page views."},
}

func dim(name string) source {
	return source{key: "value", daily: "views_daily_by", monthly: "views_monthly_by", dim: name}
}

// TableNamed is the table called name.
func TableNamed(name string) (Table, bool) {
	for _, t := range Tables {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// Row is one line of a table.
type Row struct {
	// Key is the page's path, the referring host, the country code, etc.
	Key string
	// Title is the entry's title (posts only).
	Title    string
	Views    int64
	Visitors int64
}

// Top is r's rows of t, the most viewed first, at most limit of them
// (every row when limit ≤ 0). Rows without views in the range are left
// out, but for posts, where every entry that is not a draft is listed.
func (s *Reports) Top(ctx context.Context, r Range, t Table, limit int) ([]Row, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	var q string
	var args []any
	switch t.Name {
	case "bots":
		q = `SELECT bot, '', sum(views) AS v, 0 FROM bot_views WHERE day BETWEEN ? AND ?
			GROUP BY bot ORDER BY v DESC, bot LIMIT ?`
		args = []any{r.FromDay(), r.ToDay(), limit}
	case "posts":
		entries, err := s.entries(ctx)
		if err != nil {
			return nil, err
		}
		union, uargs := t.src.union(planOf(r, s.daysOnly))
		q = `WITH entries (path, title) AS (SELECT value ->> 0, value ->> 1 FROM json_each(?)),
			sums AS MATERIALIZED (SELECT key AS path, sum(views) AS v, sum(visitors) AS u FROM (` + union + `) GROUP BY key)
			SELECT e.path, e.title, coalesce(s.v, 0) AS v, coalesce(s.u, 0) FROM entries AS e LEFT JOIN sums AS s USING (path)
			ORDER BY v DESC, e.title, e.path LIMIT ?`
		args = append(append([]any{entries}, uargs...), limit)
	default:
		if t.src.key == "" {
			return nil, fmt.Errorf("stats: no table %q", t.Name)
		}
		union, uargs := t.src.union(planOf(r, s.daysOnly))
		q = `SELECT key, '', sum(views) AS v, sum(visitors) FROM (` + union + `)
			GROUP BY key HAVING v > 0 ORDER BY v DESC, key LIMIT ?`
		args = append(uargs, limit)
	}
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("stats: %s: %w", t.Name, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var row Row
		if err := rows.Scan(&row.Key, &row.Title, &row.Views, &row.Visitors); err != nil {
			return nil, fmt.Errorf("stats: %s: %w", t.Name, err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: %s: %w", t.Name, err)
	}
	return out, nil
}

// entries is every post, project and page that is not a draft, as a JSON
// array of [path, title]: paths as content.Post.Path makes them.
func (s *Reports) entries(ctx context.Context) (string, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT kind, slug, title FROM posts WHERE status != 'draft'`)
	if err != nil {
		return "", fmt.Errorf("stats: posts: %w", err)
	}
	defer rows.Close()
	list := [][2]string{}
	for rows.Next() {
		var p content.Post
		if err := rows.Scan(&p.Kind, &p.Slug, &p.Title); err != nil {
			return "", fmt.Errorf("stats: posts: %w", err)
		}
		list = append(list, [2]string{p.Path(), p.Title})
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("stats: posts: %w", err)
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", fmt.Errorf("stats: posts: %w", err)
	}
	return string(b), nil
}
