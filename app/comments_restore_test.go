package main_test

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"site/app/comments"
	"site/internal/testkit"
)

// commentRow is every column of a comment, as a restore must bring it back.
type commentRow struct {
	ID, PostID                 int64
	Parent, User               sql.NullInt64
	Author, Body, HTML, Status string
	Created, Edited, Approved  int64
	Source                     string
	SourceID                   sql.NullString
	Notify                     int
}

func commentRows(t *testing.T, db *sql.DB) []commentRow {
	t.Helper()
	rows, err := db.Query(`SELECT id, post_id, parent_id, user_id, author, body, html, status, created_at, edited_at, approved_at,
		source, source_id, notify FROM comments ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []commentRow
	for rows.Next() {
		var c commentRow
		if err := rows.Scan(&c.ID, &c.PostID, &c.Parent, &c.User, &c.Author, &c.Body, &c.HTML, &c.Status, &c.Created, &c.Edited,
			&c.Approved, &c.Source, &c.SourceID, &c.Notify); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestCommentsRestoreDrill runs the real binary: a reader signs in with a
// code and comments through the site's form (held, then a reply), the
// admin approves the first by the signed link of a mail, `site
// import-comments` adds a WordPress export's comments beside the running
// site; the worker mails the admins (its log sender shows the mail). Then
// the daily offsite tier is made, the data dir is wiped, and `site restore
// --from offsite/daily` brings every comment back with the same id, text
// and status, and the restored site shows the approved ones on the post.
func TestCommentsRestoreDrill(t *testing.T) {
	awsURL := startOffsite(t)
	dir := filepath.Join(t.TempDir(), "data")
	cfgPath := offsiteConfig(t, dir, awsURL, "notify {\n  admins = [\"owner@example.org\"]\n}\n")
	serveArgs := []string{"serve", "--config", cfgPath, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0"}
	p := StartProc(t, nil, serveArgs...)
	site, objURL := p.Addrs["web"], p.Addrs["objects"]
	dbPath := filepath.Join(dir, "data.db")

	// A published post for the comments (written as the editor would
	// store it; the editor itself is tested elsewhere).
	rw, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	if _, err := rw.Exec(`INSERT INTO posts (kind, slug, title, body, body_text, status, published_at, updated_at, created_at)
		VALUES ('post', 'hello-world', 'Hello world', 'Some words.', 'Some words.', 'published', ?, ?, ?)`, now-3600, now, now); err != nil {
		t.Fatal(err)
	}
	rw.Close()

	// A reader signs in with the code the worker's log sender prints.
	jar, _ := cookiejar.New(nil)
	reader := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(c *http.Client, path string, form url.Values) *http.Response {
		t.Helper()
		resp, err := c.PostForm(site+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(reader, "/signin", url.Values{"address": {"reader@example.org"}}); resp.StatusCode != 200 {
		t.Fatalf("request a code: %d", resp.StatusCode)
	}
	codeRE := regexp.MustCompile(`subject="Your sign-in code for [^"]*: (\d{6})"`)
	var code string
	testkit.WaitFor(t, 30*time.Second, "the sign-in code in the worker's log", func() bool {
		m := codeRE.FindStringSubmatch(p.Stderr())
		if m != nil {
			code = m[1]
		}
		return m != nil
	})
	if resp := post(reader, "/signin/code", url.Values{"address": {"reader@example.org"}, "code": {code}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}

	// Two comments through the post's form: a first (held: the reader's
	// first) and a reply to it.
	resp, err := reader.Get(site + "/posts/hello-world")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="stamp" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no comment form on the post for a signed-in reader:\n%s", page)
	}
	stamp := string(m[1])
	time.Sleep(comments.DefaultMinFill + 500*time.Millisecond) // people take a few seconds to write
	locRE := regexp.MustCompile(`#comment-(\d+)$`)
	comment := func(body, parent string) string {
		t.Helper()
		form := url.Values{"name": {"Reader"}, "body": {body}, "stamp": {stamp}, "notify": {"on"}}
		if parent != "" {
			form.Set("parent", parent)
		}
		resp := post(reader, "/posts/hello-world/comments", form)
		m := locRE.FindStringSubmatch(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("comment %q: %d %s", body, resp.StatusCode, resp.Header.Get("Location"))
		}
		return m[1]
	}
	first := comment("The first comment, **approved** by the link.", "")
	comment("A reply that stays held.", first)

	// The admins hear of them (the log sender prints the mail), with the
	// signed links; the test signs its own with the data dir's auth.key.
	// The two comments come a few milliseconds apart: the mail is about
	// the first alone, or a digest of both when the notifier finds both.
	testkit.WaitFor(t, time.Minute, "the admins' mail of the new comment in the worker's log", func() bool {
		log := p.Stderr()
		return strings.Contains(log, "to=[owner@example.org]") && strings.Contains(log, "The first comment, approved by the link.") &&
			(strings.Contains(log, `New comment on \"Hello world\" by Reader (held)`) || strings.Contains(log, "2 new comments (2 held)"))
	})
	keyHex, err := os.ReadFile(filepath.Join(dir, "auth.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(keyHex)))
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	fmt.Sscan(first, &id)
	approve := (&comments.Signer{Key: key}).Sign(comments.ActionApprove, id)
	if resp := post(&http.Client{Timeout: 30 * time.Second}, comments.ModeratePath, approve); resp.StatusCode != 200 {
		t.Fatalf("approve by the signed link: %d", resp.StatusCode)
	}

	// Comments imported beside the running site.
	fixture, err := filepath.Abs(filepath.Join("comments", "importer", "testdata", "wxr.xml"))
	if err != nil {
		t.Fatal(err)
	}
	code2, out, errOut := runSite(t, nil, "import-comments", fixture, "--config", cfgPath)
	if code2 != 0 || !strings.Contains(out, "5 added (1 held)") || !strings.Contains(out, `unmatched thread "About"`) {
		t.Fatalf("import-comments: exit %d\n%s\n%s", code2, out, errOut)
	}
	t.Logf("site import-comments:\n%s", out)

	db := openDB(t, dbPath)
	want := commentRows(t, db)
	if len(want) != 7 {
		t.Fatalf("%d comments before the backup, want 7: %+v", len(want), want)
	}
	if want[0].Status != "approved" || want[1].Status != "held" || !want[1].Parent.Valid || want[1].Parent.Int64 != want[0].ID {
		t.Fatalf("the reader's comments: %+v", want[:2])
	}
	testkit.WaitFor(t, time.Minute, "the comments in the replica", func() bool {
		return replicaCount(t, dir, objURL, "SELECT count(*) FROM comments WHERE status = 'approved'") == 5
	})
	if code, out, errOut := runSite(t, nil, "backup", "run", "daily", "--config", cfgPath, "--objects.endpoint", objURL); code != 0 {
		t.Fatalf("backup run daily: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _ := p.Stop(); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	db.Close()

	// The data dir is gone; the daily tier brings it back.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runSite(t, nil, "restore", "--from", "offsite/daily", "--config", cfgPath); code != 0 {
		t.Fatalf("restore: exit %d\n%s\n%s", code, out, errOut)
	}
	got := commentRows(t, openDB(t, dbPath))
	if len(got) != len(want) {
		t.Fatalf("restored %d comments, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("restored comment %d:\n got %+v\nwant %+v", want[i].ID, got[i], want[i])
		}
	}

	// The restored site shows the approved ones on the post, not the held.
	p = StartProc(t, nil, serveArgs...)
	code3, body := get(t, p.Addrs["web"]+"/posts/hello-world")
	if code3 != 200 || !strings.Contains(body, "The first comment, <strong>approved</strong> by the link.") ||
		!strings.Contains(body, "Second paragraph,") || strings.Contains(body, "A reply that stays held.") {
		t.Errorf("the restored post: %d\n%s", code3, body)
	}
}
