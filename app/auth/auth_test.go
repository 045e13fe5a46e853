package auth_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"site/app/auth"
	"site/app/jobs"
	"site/internal/testkit"
)

// outbox keeps the messages Auth hands to the worker.
type outbox struct {
	mu   sync.Mutex
	sent []jobs.NotifyJob
}

func (o *outbox) send(_ context.Context, n jobs.NotifyJob, _ string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, n)
	return nil
}

func (o *outbox) last(tb testing.TB) jobs.NotifyJob {
	tb.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.sent) == 0 {
		tb.Fatal("no message sent")
	}
	return o.sent[len(o.sent)-1]
}

var (
	codeRE = regexp.MustCompile(`\b(\d{6})\b`)
	linkRE = regexp.MustCompile(`/signin/link\?token=([A-Z2-7]+)`)
)

// testAuth is an Auth on real SQLite stores with a clock the test moves.
func testAuth(tb testing.TB) (*auth.Auth, *outbox, *time.Time) {
	tb.Helper()
	data, ttl := testkit.DataDB(tb), testkit.TTLDB(tb)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	out := &outbox{}
	a := &auth.Auth{Data: data, TTL: ttl, Key: []byte("0123456789abcdef0123456789abcdef"), Send: out.send,
		SiteName: "Test Site", SiteURL: "https://example.org", Now: func() time.Time { return now }}
	return a, out, &now
}

func codeOf(tb testing.TB, n jobs.NotifyJob) string {
	tb.Helper()
	m := codeRE.FindStringSubmatch(n.Text)
	if m == nil {
		tb.Fatalf("no code in %q", n.Text)
	}
	return m[1]
}

func TestCodeSignsInOnce(t *testing.T) {
	a, out, _ := testAuth(t)
	ctx := context.Background()
	if err := a.RequestCode(ctx, " Ada@Example.org ", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	msg := out.last(t)
	if msg.Email != "ada@example.org" || !strings.Contains(msg.Subject, "Test Site") || !linkRE.MatchString(msg.Text) {
		t.Fatalf("message %+v", msg)
	}
	code := codeOf(t, msg)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, err := a.VerifyCode(ctx, "ada@example.org", wrong, "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("wrong code: %v", err)
	}
	u, err := a.VerifyCode(ctx, "ADA@example.org", code[:3]+" "+code[3:], "192.0.2.1")
	if err != nil || u.Address != "ada@example.org" || u.Role != auth.RoleReader || u.ID == 0 {
		t.Fatalf("right code: %+v %v", u, err)
	}
	if _, err := a.VerifyCode(ctx, "ada@example.org", code, "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("reused code: %v", err)
	}
	// The link sent with a used code is gone too.
	if _, err := a.VerifyLink(ctx, linkRE.FindStringSubmatch(msg.Text)[1], "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("link of a used code: %v", err)
	}
}

func TestSixthCodeLocks(t *testing.T) {
	a, out, _ := testAuth(t)
	ctx := context.Background()
	if err := a.RequestCode(ctx, "+44 20 7946 0000", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	msg := out.last(t)
	if msg.Phone != "+442079460000" || msg.Email != "" {
		t.Fatalf("SMS %+v", msg)
	}
	code := codeOf(t, msg)
	for i := range 5 {
		wrong := []byte(code)
		wrong[0] = '0' + (wrong[0]-'0'+1+byte(i))%10
		if _, err := a.VerifyCode(ctx, "+442079460000", string(wrong), "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if _, err := a.VerifyCode(ctx, "+442079460000", code, "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("the right code after five wrong ones: %v, want refused", err)
	}
}

func TestCodeAndLinkExpire(t *testing.T) {
	a, out, now := testAuth(t)
	ctx := context.Background()
	if err := a.RequestCode(ctx, "ada@example.org", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	code := codeOf(t, out.last(t))
	*now = now.Add(auth.DefaultCodeTTL + time.Second)
	if _, err := a.VerifyCode(ctx, "ada@example.org", code, "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("expired code: %v", err)
	}
	if err := a.RequestCode(ctx, "ada@example.org", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	token := linkRE.FindStringSubmatch(out.last(t).Text)[1]
	*now = now.Add(auth.DefaultCodeTTL + time.Second)
	if _, err := a.VerifyLink(ctx, token, "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("expired link: %v", err)
	}
	if err := a.RequestCode(ctx, "ada@example.org", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	token = linkRE.FindStringSubmatch(out.last(t).Text)[1]
	if u, err := a.VerifyLink(ctx, token, "192.0.2.1"); err != nil || u.Address != "ada@example.org" {
		t.Fatalf("link: %+v %v", u, err)
	}
	if _, err := a.VerifyLink(ctx, token, "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("reused link: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 52) + "'", strings.Repeat("A", 200)} {
		if _, err := a.VerifyLink(ctx, bad, "192.0.2.1"); !errors.Is(err, auth.ErrBadCode) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

// TestKnownAndUnknownAlike: an admin's address and one nobody uses get
// the same answer and the same message, code and link aside.
func TestKnownAndUnknownAlike(t *testing.T) {
	a, out, _ := testAuth(t)
	ctx := context.Background()
	if _, err := a.GrantAdmin(ctx, "owner@example.org"); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, addr := range []string{"owner@example.org", "nobody@example.org"} {
		if err := a.RequestCode(ctx, addr, "192.0.2.1"); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		msg := out.last(t)
		text := linkRE.ReplaceAllString(codeRE.ReplaceAllString(msg.Subject+"\n"+msg.Text, "CODE"), "LINK")
		texts = append(texts, text)
	}
	if texts[0] != texts[1] {
		t.Errorf("messages differ:\n%s\n%s", texts[0], texts[1])
	}
}

func TestRateLimits(t *testing.T) {
	a, _, now := testAuth(t)
	ctx := context.Background()
	for i := range 5 {
		if err := a.RequestCode(ctx, "ada@example.org", "192.0.2.1"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if err := a.RequestCode(ctx, "ada@example.org", "192.0.2.2"); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("sixth code for one address: %v", err)
	}
	for i := range 15 { // 5 counted for 192.0.2.1 so far
		if err := a.RequestCode(ctx, "reader"+string(rune('a'+i))+"@example.org", "192.0.2.1"); err != nil {
			t.Fatalf("client request %d: %v", i+1, err)
		}
	}
	if err := a.RequestCode(ctx, "someone@example.org", "192.0.2.1"); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("21st code from one client: %v", err)
	}
	if err := a.RequestCode(ctx, "someone@example.org", "192.0.2.9"); err != nil {
		t.Fatalf("another client: %v", err)
	}
	*now = now.Add(16 * time.Minute)
	if err := a.RequestCode(ctx, "ada@example.org", "192.0.2.1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	for i := range 31 {
		_, err := a.VerifyCode(ctx, "ada@example.org", "123456", "198.51.100.7")
		if i < 30 && errors.Is(err, auth.ErrRateLimited) || i == 30 && !errors.Is(err, auth.ErrRateLimited) {
			t.Fatalf("verify %d from one client: %v", i+1, err)
		}
	}
}

// TestSecretsStoredHashed: no code, link token or session token appears
// in ttl.db.
func TestSecretsStoredHashed(t *testing.T) {
	a, out, _ := testAuth(t)
	ctx := context.Background()
	if err := a.RequestCode(ctx, "ada@example.org", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	msg := out.last(t)
	u, err := a.GrantAdmin(ctx, "ada@example.org")
	if err != nil {
		t.Fatal(err)
	}
	token, err := a.NewSession(ctx, u, "Firefox", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 43 {
		t.Fatalf("session token %q: under 256 bits", token)
	}
	var dump strings.Builder
	for _, table := range []string{"one_time_codes", "sessions"} {
		rows, err := a.TTL.Read.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				dump.WriteString(strings.ToUpper(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(
					strings.TrimSpace(fmtAny(v)), "\n", ""), " ", ""))) + "\n")
			}
		}
		rows.Close()
	}
	for _, secret := range []string{codeOf(t, msg), linkRE.FindStringSubmatch(msg.Text)[1], token} {
		if strings.Contains(dump.String(), strings.ToUpper(secret)) {
			t.Errorf("ttl.db holds %q in clear", secret)
		}
	}
}

func TestSessions(t *testing.T) {
	a, _, now := testAuth(t)
	ctx := context.Background()
	u, err := a.GrantAdmin(ctx, "ada@example.org")
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.GrantAdmin(ctx, "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	laptop, _ := a.NewSession(ctx, u, "Firefox on Linux", "192.0.2.1")
	phone, _ := a.NewSession(ctx, u, "Safari on iPhone", "192.0.2.2")
	bobs, _ := a.NewSession(ctx, other, "Chrome", "192.0.2.3")
	s, err := a.Session(ctx, laptop)
	if err != nil || s.User.Address != "ada@example.org" || !s.User.IsAdmin() || s.UserAgent != "Firefox on Linux" {
		t.Fatalf("session: %+v %v", s, err)
	}
	for _, bad := range []string{"", "nope", laptop + "x", strings.Repeat("a", 1000)} {
		if _, err := a.Session(ctx, bad); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	list, err := a.Sessions(ctx, u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions: %d %v", len(list), err)
	}
	// Another user's session id ends nothing; one's own ends.
	b, _ := a.Session(ctx, bobs)
	if err := a.EndSession(ctx, u.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, bobs); err != nil {
		t.Fatalf("bob's session ended by ada: %v", err)
	}
	if err := a.EndSession(ctx, u.ID, a.TokenID(phone)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, phone); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("ended session: %v", err)
	}
	// Idle expiry moves with use; the absolute one does not.
	for range 6 {
		*now = now.Add(13 * 24 * time.Hour)
		if _, err := a.Session(ctx, laptop); err != nil {
			t.Fatalf("session used every 13 days: %v", err)
		}
	}
	*now = now.Add(13 * 24 * time.Hour) // 91 days since it opened
	if _, err := a.Session(ctx, laptop); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("session past its absolute limit: %v", err)
	}
	fresh, _ := a.NewSession(ctx, u, "Firefox", "192.0.2.1")
	*now = now.Add(auth.DefaultSessionIdle + time.Second)
	if _, err := a.Session(ctx, fresh); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("idle session: %v", err)
	}
	again, _ := a.NewSession(ctx, u, "Firefox", "192.0.2.1")
	if err := a.EndSessions(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, again); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("after signing out everywhere: %v", err)
	}
}

func TestNormalizeAddress(t *testing.T) {
	cases := []struct {
		in, want string
		phone    bool
	}{
		{"Ada@Example.ORG", "ada@example.org", false},
		{"  ada+site@example.org\t", "ada+site@example.org", false},
		{"+1 (555) 123-4567", "+15551234567", true},
		{"+44.20.7946.0000", "+442079460000", true},
		{"ada", "", false},
		{"ada@localhost", "", false},
		{"Ada <ada@example.org>", "", false},
		{"ada@example.org\r\nBcc: x@example.org", "", false},
		{"+0123456789", "", false},
		{"+1234567", "", false},
		{"+1234567890123456", "", false},
		{"+1555abc4567", "", false},
		{"", "", false},
		{strings.Repeat("a", 250) + "@example.org", "", false},
	}
	for _, c := range cases {
		got, phone, err := auth.NormalizeAddress(c.in)
		if got != c.want || phone != c.phone || (c.want == "") != errors.Is(err, auth.ErrBadAddress) {
			t.Errorf("NormalizeAddress(%q) = %q, %v, %v; want %q, %v", c.in, got, phone, err, c.want, c.phone)
		}
	}
}

func fmtAny(v any) string { return strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(v), "\x00", "")) }
