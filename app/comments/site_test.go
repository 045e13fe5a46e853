package comments_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"site/app/auth"
	"site/app/comments"
	"site/app/content"
	"site/app/store"
	"site/app/web"
	"site/internal/testkit"
)

// clock is the comments' clock, moved by the test (the form's minimum
// time to fill, the edit window, closing by age).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// site is the web shell with sign-in and comments mounted as the web role
// mounts them, on real SQLite stores, with one published post "hello".
type site struct {
	*httptest.Server
	data, ttl *store.DB
	auth      *auth.Auth
	sign      *auth.Web
	shell     *web.Server
	content   *content.Store
	store     *comments.Store
	comments  *comments.Web
	clock     *clock
	post      *content.Post
}

// newSite starts the site; each configure func may change the comments'
// group or add groups to the shell before it serves.
func newSite(tb testing.TB, configure ...func(*site)) *site {
	tb.Helper()
	s := &site{data: testkit.DataDB(tb), ttl: testkit.TTLDB(tb), clock: &clock{t: time.Now()}}
	s.auth = &auth.Auth{Data: s.data, TTL: s.ttl, Key: []byte("0123456789abcdef0123456789abcdef"), SiteName: "Test"}
	s.shell = web.NewServer()
	s.shell.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s.shell.CacheCheck = time.Millisecond
	s.content = content.NewStore(s.data)
	s.shell.Content = s.content
	s.sign = &auth.Web{Auth: s.auth, Shell: s.shell}
	s.store = comments.NewStore(s.data)
	s.comments = &comments.Web{Store: s.store, Content: s.content, Auth: s.sign, Shell: s.shell,
		Moderation: comments.ModerateFirst, Logger: s.shell.Logger, Now: s.clock.now}
	s.shell.Groups = []web.Group{s.sign}
	for _, f := range configure {
		f(s)
	}
	s.comments.Mount(s.shell)
	s.shell.SignedIn = s.sign.SignedIn
	s.Server = httptest.NewServer(s.shell.Handler())
	tb.Cleanup(s.Close)
	s.auth.SiteURL = s.URL
	s.post = s.addPost(tb, "hello", time.Now().Add(-time.Hour))
	return s
}

func (s *site) addPost(tb testing.TB, slug string, published time.Time) *content.Post {
	tb.Helper()
	p := &content.Post{Kind: content.KindPost, Slug: slug, Title: "Post " + slug, Body: "Some *text*.",
		Status: content.StatusPublished, PublishedAt: published}
	if _, err := s.content.Save(context.Background(), p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// browser is a client with its own cookies; user is who it signed in as.
type browser struct {
	*http.Client
	site *site
	user auth.User
}

// anonymous is a browser that has not signed in.
func (s *site) anonymous() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{site: s, Client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// reader signs a new reader in (admin too when admin is set).
func (s *site) reader(tb testing.TB, address, name string, admin bool) *browser {
	tb.Helper()
	ctx := context.Background()
	role := auth.RoleReader
	if admin {
		role = auth.RoleAdmin
	}
	var id int64
	if err := s.data.Write.QueryRow(`INSERT INTO users (address, role, display_name, created_at) VALUES (?, ?, ?, 1) RETURNING id`,
		address, role, name).Scan(&id); err != nil {
		tb.Fatal(err)
	}
	u, err := s.auth.UserByID(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	token, err := s.auth.NewSession(ctx, u, "test", "127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	b := s.anonymous()
	su, _ := url.Parse(s.URL)
	b.Jar.SetCookies(su, []*http.Cookie{{Name: "session", Value: token, Path: "/"}})
	b.user = u
	return b
}

// get fetches a page and returns its status and body.
func (b *browser) get(tb testing.TB, path string) (int, string) {
	tb.Helper()
	resp, err := b.Get(b.site.URL + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var stampRE = regexp.MustCompile(`name="stamp" value="([^"]+)"`)

// stamp opens the post page and reads its form's stamp.
func (b *browser) stamp(tb testing.TB, path string) string {
	tb.Helper()
	code, body := b.get(tb, path)
	m := stampRE.FindStringSubmatch(body)
	if code != 200 || m == nil {
		tb.Fatalf("GET %s: %d, no comment form", path, code)
	}
	return m[1]
}

// send posts a form like a browser (or like comments.js when asJSON) and
// returns the response with its body read.
func (b *browser) send(tb testing.TB, path string, form url.Values, asJSON bool) (*http.Response, string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.site.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if asJSON {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := b.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// comment opens the post, waits past the minimum time to fill, and sends
// a comment with body (and the extra fields); it returns the response.
func (b *browser) comment(tb testing.TB, slug, text string, extra ...string) (*http.Response, string) {
	tb.Helper()
	form := url.Values{"name": {b.user.DisplayName}, "body": {text}, "stamp": {b.stamp(tb, "/posts/"+slug)}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	b.site.clock.add(5 * time.Second)
	return b.send(tb, "/posts/"+slug+"/comments", form, false)
}

var locationRE = regexp.MustCompile(`#comment-(\d+)$`)

// posted sends a comment that must be accepted and returns its id.
func (b *browser) posted(tb testing.TB, slug, text string, extra ...string) int64 {
	tb.Helper()
	resp, body := b.comment(tb, slug, text, extra...)
	m := locationRE.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		tb.Fatalf("comment %q: %d %s\n%s", text, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	var id int64
	for _, c := range m[1] {
		id = id*10 + int64(c-'0')
	}
	return id
}

// textKept reports whether the page's form holds text as typed.
func textKept(page, text string) bool {
	return strings.Contains(page, ">"+html.EscapeString(text)+"</textarea>")
}

// subscribe collects the events published on the post's comment subject.
func subscribe(tb testing.TB, nc *nats.Conn, slug string) chan *nats.Msg {
	tb.Helper()
	ch := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("events.comments."+slug, ch)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		tb.Fatal(err)
	}
	return ch
}
