package stats_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"golang.org/x/text/language"

	"site/app/analytics"
	"site/app/jobs"
	"site/app/store"

	"site/app/benchdoc"
)

// The generated year of the benchmark: genViews page views on the genDays
// days that end on genLastDay, plus about 8% as many bot views.
const (
	genViews   = 10_000_000
	genDays    = 365
	genLastDay = "2025-12-20"
	// genVersion names the generator: change it when the data it makes
	// changes, so that a cached copy is made again.
	genVersion = "analytics-year-v1"
)

// The shape of the generated traffic.
const (
	genPaths     = 2000 // Zipf-popular paths
	genReferrers = 500  // referring hosts
	genUTM       = 50   // utm_source values
	genCountries = 150
	genBots      = 40
)

// genNote is the file beside the generated data.db that says how long
// making it took.
const genNote = "generated.txt"

// yearOfViews opens data.db holding a generated year of page views,
// stored through the worker's real path (analytics.Recorder, with a geo
// database placing each address in one of 150 countries), so that every
// rollup the reports read is the one the worker writes. Made once and kept
// under the temporary directory, keyed by the generator's version and the
// migrations up to genSchema; made again when either changes.
func yearOfViews(tb testing.TB) *store.DB {
	db, _ := yearOfViewsNoted(tb)
	return db
}

// yearOfViewsNoted is yearOfViews, with how long making the data took
// (from genNote; "not recorded" when the file is missing).
func yearOfViewsNoted(tb testing.TB) (*store.DB, string) {
	tb.Helper()
	key, err := genKey()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), "site-bench", genVersion+"-"+key)
	file := filepath.Join(dir, store.DataFile)
	if _, err := os.Stat(file); err != nil {
		tmp := dir + ".making"
		_ = os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			tb.Fatal(err)
		}
		start := time.Now()
		if err := generate(tb, tmp); err != nil {
			tb.Fatal(err)
		}
		took := time.Since(start).Round(time.Second)
		note := fmt.Sprintf("%v (load average %s when done)\n", took, benchdoc.LoadAverage())
		if err := os.WriteFile(filepath.Join(tmp, genNote), []byte(note), 0o600); err != nil {
			tb.Fatal(err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("generated %s in %v", dir, took)
	}
	db, err := store.OpenData(context.Background(), file)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	note := "not recorded"
	if b, err := os.ReadFile(filepath.Join(dir, genNote)); err == nil {
		note = strings.TrimSpace(string(b))
	}
	return db, note
}

// genSchema is the last migration of the schema the generator writes;
// later ones are applied to the cached copy when it is opened, as they
// would be on a site's data.db.
const genSchema = "0011_analytics_reports.sql"

// genKey is a hash of the data migrations up to genSchema, names and
// contents.
func genKey() (string, error) {
	files, err := filepath.Glob(filepath.Join("..", "store", "migrations", "data", "*.sql"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("migrations: %v", err)
	}
	h := sha256.New()
	for _, f := range files {
		if filepath.Base(f) > genSchema {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\n%d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:6]), nil
}

// newZipf draws 0..n-1, 0 the most likely, with exponent s.
func newZipf(n int, s float64) weighted {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / math.Pow(float64(i+1), s)
	}
	return newWeighted(w)
}

// agents are the readers' user agents: 9 browsers on 7 systems, on
// desktops, phones and tablets.
var agents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
	"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 YaBrowser/24.6.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Vivaldi/6.8",
	"Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko",
	"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
}

// bots are genBots crawlers: names the ledger knows and generic ones.
func bots() []string {
	named := []string{"Googlebot/2.1", "bingbot/2.0", "YandexBot/3.0", "Baiduspider/2.0", "DuckDuckBot/1.1", "Applebot/0.1",
		"facebookexternalhit/1.1", "Twitterbot/1.0", "LinkedInBot/1.0", "Slackbot 1.0", "Discordbot/2.0", "AhrefsBot/7.0",
		"SemrushBot/7", "MJ12bot/v1.4.8", "DotBot/1.2", "PetalBot", "Bytespider", "GPTBot/1.2", "ClaudeBot/1.0",
		"PerplexityBot/1.0", "CCBot/2.0", "Amazonbot/0.1", "UptimeRobot/2.0", "curl/8.5.0", "python-requests/2.32",
		"Wget/1.21", "Go-http-client-crawler/1.1", "SeznamBot/4.0", "MojeekBot/0.11", "Feedly/1.0"}
	out := make([]string, 0, genBots)
	for _, n := range named {
		out = append(out, "Mozilla/5.0 (compatible; "+n+"; +https://example.com/bot)")
	}
	for i := len(out); i < genBots; i++ {
		out = append(out, fmt.Sprintf("Crawler%dBot/1.0 (+https://crawler%d.example/)", i, i))
	}
	return out
}

// countryCodes are genCountries ISO codes, in a fixed shuffled order.
func countryCodes() []string {
	var codes []string
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			r, err := language.ParseRegion(string([]rune{a, b}))
			if err == nil && r.IsCountry() && r.String() == string([]rune{a, b}) {
				codes = append(codes, r.String())
			}
		}
	}
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(codes), func(i, j int) { codes[i], codes[j] = codes[j], codes[i] })
	return codes[:genCountries]
}

// geoFile writes a country database: 5.i.0.0/16 is countries[i].
func geoFile(dir string, countries []string) (string, error) {
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-Country", RecordSize: 24})
	if err != nil {
		return "", err
	}
	for i, c := range countries {
		_, n, err := net.ParseCIDR(fmt.Sprintf("5.%d.0.0/16", i))
		if err != nil {
			return "", err
		}
		if err := w.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(c)}}); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "geo.mmdb")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		return "", err
	}
	return path, f.Close()
}

// dailyViews spreads genViews over the days: weekends at 70%, a growth of
// half over the year, and noise.
func dailyViews(rng *rand.Rand, last time.Time) []int {
	weights := make([]float64, genDays)
	sum := 0.0
	for i := range weights {
		d := last.AddDate(0, 0, i-genDays+1)
		w := 1 + 0.5*float64(i)/genDays
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			w *= 0.7
		}
		w *= 0.85 + 0.3*rng.Float64()
		weights[i] = w
		sum += w
	}
	out := make([]int, genDays)
	total := 0
	for i, w := range weights {
		out[i] = int(w / sum * genViews)
		total += out[i]
	}
	out[genDays-1] += genViews - total
	return out
}

// generate records the year into data.db in dir.
func generate(tb testing.TB, dir string) error {
	rng := rand.New(rand.NewPCG(2025, 12))
	countries := countryCodes()
	geoPath, err := geoFile(dir, countries)
	if err != nil {
		return fmt.Errorf("geo database: %w", err)
	}
	geo, err := analytics.OpenGeo(geoPath)
	if err != nil {
		return err
	}
	defer geo.Close()
	db, err := store.OpenData(context.Background(), filepath.Join(dir, store.DataFile))
	if err != nil {
		return err
	}
	defer db.Close()
	last, err := time.Parse(time.DateOnly, genLastDay)
	if err != nil {
		return err
	}
	paths := make([]string, genPaths)
	for i := range paths {
		switch {
		case i == 0:
			paths[i] = "/"
		case i%10 == 3:
			paths[i] = fmt.Sprintf("/tags/tag-%d", i)
		case i%25 == 7:
			paths[i] = fmt.Sprintf("/projects/project-%d", i)
		default:
			paths[i] = fmt.Sprintf("/posts/post-%d", i)
		}
	}
	if err := genPosts(db, paths); err != nil {
		return err
	}
	botAgents := bots()
	pathZ, refZ, utmZ, countryZ, agentZ, botZ := newZipf(genPaths, 1.0), newZipf(genReferrers, 1.1), newZipf(genUTM, 1.2),
		newZipf(genCountries, 1.2), newZipf(len(agents), 1.0), newZipf(len(botAgents), 1.0)
	var clock time.Time
	rec := &analytics.Recorder{DB: db.Write, Geo: geo, Site: "bench", MaxViews: 50_000, Now: func() time.Time { return clock }}
	perDay := dailyViews(rng, last)
	hourW := newDiurnal()
	stored := 0
	for i, n := range perDay {
		d := last.AddDate(0, 0, i-genDays+1)
		views := make([]analytics.PageView, 0, n+n/12)
		for len(views) < n {
			// A visitor: a session of about 3.3 views (daily uniques about
			// 30% of views).
			country := countryZ.draw(rng)
			ip := netip.AddrFrom4([4]byte{5, byte(country), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
			ua := agents[agentZ.draw(rng)]
			at := d.Add(time.Duration(hourW.draw(rng))*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
			pv := analytics.PageView{UserAgent: ua, IP: ip.String(), Host: "site.example"}
			if rng.Float64() < 0.55 {
				pv.Referrer = fmt.Sprintf("https://www.ref-%d.example/some/page?q=1", refZ.draw(rng))
			}
			if rng.Float64() < 0.08 {
				pv.UTMSource = fmt.Sprintf("source-%d", utmZ.draw(rng))
			}
			k := 1 + int(rng.ExpFloat64()*2.33)
			for range k {
				if len(views) == n {
					break
				}
				pv.Path, pv.At = paths[pathZ.draw(rng)], earlierOf(at, d.Add(24*time.Hour-time.Second))
				views = append(views, pv)
				pv.Referrer, pv.UTMSource = "https://site.example/", ""
				at = at.Add(time.Duration(30+rng.IntN(300)) * time.Second)
			}
		}
		for range n / 12 {
			views = append(views, analytics.PageView{Path: paths[pathZ.draw(rng)], UserAgent: botAgents[botZ.draw(rng)],
				IP: "66.249.66.1", At: d.Add(time.Duration(rng.IntN(86400)) * time.Second)})
		}
		slices.SortStableFunc(views, func(a, b analytics.PageView) int { return a.At.Compare(b.At) })
		// Jobs of 200 views as the web role batches them, a day's worth
		// handed to the worker at once (one transaction: the rollups are the
		// same as with smaller ones, made faster), its clock at the end of
		// the day.
		var batch []jobs.Job
		for j := 0; j < len(views); j += 200 {
			batch = append(batch, analytics.NewBatchJob(views[j:min(len(views), j+200)]))
		}
		clock = views[len(views)-1].At.Add(time.Second)
		if err := rec.HandleBatch(context.Background(), batch); err != nil {
			return fmt.Errorf("record %s: %w", d.Format(time.DateOnly), err)
		}
		stored += len(views)
		if i%30 == 29 || i == genDays-1 {
			if _, err := db.Write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				return err
			}
			tb.Logf("generated %d days, %d views with bots", i+1, stored)
		}
	}
	return nil
}

func earlierOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// newDiurnal draws an hour of the day: most readers in the afternoon,
// fewest at night.
func newDiurnal() weighted {
	w := make([]float64, 24)
	for h := range w {
		w[h] = 1.2 + math.Sin(float64(h-9)/24*2*math.Pi)
	}
	return newWeighted(w)
}

// weighted draws an index with the given weights.
type weighted struct{ cum []float64 }

func newWeighted(w []float64) weighted {
	out := weighted{cum: make([]float64, len(w))}
	sum := 0.0
	for i, x := range w {
		sum += x
		out.cum[i] = sum
	}
	for i := range out.cum {
		out.cum[i] /= sum
	}
	return out
}

func (w weighted) draw(rng *rand.Rand) int {
	i, _ := slices.BinarySearch(w.cum, rng.Float64())
	return min(i, len(w.cum)-1)
}

// genPosts writes an entry for each post and project path, one in ten a
// draft, so that the posts report joins real entries.
func genPosts(db *store.DB, paths []string) error {
	tx, err := db.Write.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i, p := range paths {
		kind, slug, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		if !ok || kind == "tags" {
			continue
		}
		kind = strings.TrimSuffix(kind, "s")
		status, published := "published", int64(1700000000+i)
		if i%10 == 5 {
			status, published = "draft", 0
		}
		if _, err := tx.Exec(`INSERT INTO posts (kind, slug, title, status, published_at, updated_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, kind, slug, fmt.Sprintf("Entry number %d", i), status, published, published, published); err != nil {
			return fmt.Errorf("posts: %w", err)
		}
	}
	return tx.Commit()
}
