package main_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"site/internal/testkit"
)

// TestOwnerSignsIn runs the real binary: a first start prints the setup
// link; a sign-in code requested on the site travels as a jobs.notify job
// to the worker, whose log sender (no SMTP configured) prints it; the code
// signs in, the setup link makes the owner admin, and /admin opens. After
// `site admin add`, a start prints no setup link.
func TestOwnerSignsIn(t *testing.T) {
	dir := t.TempDir()
	args := []string{"serve", "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0"}
	p := StartProc(t, nil, args...)
	site, link := p.Addrs["web"], p.Addrs["setup"]
	if !strings.HasPrefix(link, site+"/setup?token=") {
		t.Fatalf("no setup link in the summary:\n%s", p.Stdout())
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.PostForm(site+"/signin", url.Values{"address": {"owner@example.org"}, "next": {strings.TrimPrefix(link, site)}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request a code: %v %v", err, resp)
	}
	resp.Body.Close()
	codeRE := regexp.MustCompile(`subject="Your sign-in code for [^"]*: (\d{6})"`)
	var code string
	testkit.WaitFor(t, 30*time.Second, "the sign-in code in the worker's log", func() bool {
		m := codeRE.FindStringSubmatch(p.Stderr())
		if m == nil {
			return false
		}
		code = m[1]
		return true
	})
	resp, err = c.PostForm(site+"/signin/code", url.Values{"address": {"owner@example.org"}, "code": {code}, "next": {strings.TrimPrefix(link, site)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.String() != link || resp.StatusCode != 200 {
		t.Fatalf("after the code: %d at %s, want the setup page", resp.StatusCode, resp.Request.URL)
	}
	token := strings.TrimPrefix(link, site+"/setup?token=")
	resp, err = c.PostForm(site+"/setup", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/admin" {
		t.Fatalf("after the setup link: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if code, _ := p.Stop(); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}

	if code, out, errOut := runSite(t, nil, "admin", "add", "+44 20 7946 0000", "--data-dir", dir); code != 0 || !strings.Contains(out, "+442079460000 is an admin") {
		t.Fatalf("admin add: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runSite(t, nil, "admin", "add", "not an address", "--data-dir", dir); code == 0 || !strings.Contains(errOut, "not an email address") {
		t.Fatalf("admin add of a bad address: exit %d\n%s", code, errOut)
	}
	p = StartProc(t, nil, args...)
	if p.Addrs["setup"] != "" {
		t.Errorf("a setup link although the site has admins:\n%s", p.Stdout())
	}
}
