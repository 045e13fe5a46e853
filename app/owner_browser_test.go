package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"site/internal/browsertest"
	"site/internal/testkit"
)

// TestOwnerInChromium is the owner's first hour, in Chromium against the
// real binary with a real SMTP server: the setup link, a code read from
// the mail, the admin panel, a post written with an uploaded image and
// published, the picture with its srcset on the public page, sign-out.
func TestOwnerInChromium(t *testing.T) {
	ctx := browsertest.Browser(t)
	box := testkit.SMTP(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "site.hcl")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `notify {
  from      = "site@example.org"
  smtp_host = %q
  smtp_port = %d
  smtp_tls  = "none"
}
`, box.Host, box.Port), 0o600); err != nil {
		t.Fatal(err)
	}
	p := StartProc(t, nil, "serve", "--config", conf, "--data-dir", dir, "--web.listen", "127.0.0.1:0", "--objects.listen", "127.0.0.1:0")
	site, link := p.Addrs["web"], p.Addrs["setup"]
	if link == "" {
		t.Fatalf("no setup link:\n%s", p.Stdout())
	}
	// The setup link asks to sign in first; the code comes by mail.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.SendKeys(chromedp.CSS("#address"), "owner@example.org"),
		chromedp.Submit(chromedp.CSS("#address")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	); err != nil {
		t.Fatal(err)
	}
	codeRE := regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`)
	var code string
	testkit.WaitFor(t, 30*time.Second, "the sign-in code by mail", func() bool {
		for _, m := range box.All() {
			if len(m.To) == 1 && m.To[0] == "owner@example.org" {
				if c := codeRE.FindStringSubmatch(strings.ReplaceAll(m.Data, "\r\n", "\n")); c != nil {
					code = c[1]
					return true
				}
			}
		}
		return false
	})
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Submit(chromedp.CSS("#code")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/setup"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/setup"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".admin-nav")),
	); err != nil {
		t.Fatal(err)
	}
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || where != site+"/admin" {
		t.Fatalf("after setup the browser is at %q (%v), want %s/admin", where, err, site)
	}

	ownerWritesAndPublishes(t, ctx, site)

	// The backups page shows Litestream's position, asked of the cron role.
	positionRE := regexp.MustCompile(`transaction (\d+) in the replica, (\d+) in data\.db`)
	testkit.WaitFor(t, 30*time.Second, "the replica's position on the backups page", func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(site+"/admin/backups")); err != nil {
			return false
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		m := positionRE.FindStringSubmatch(text)
		return err == nil && m != nil && m[1] != "0"
	})

	// Signed out, the panel asks to sign in again.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(site+"/admin"),
		chromedp.Click(chromedp.CSS(`.admin-user form[action="/signout"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(".admin-nav")),
		chromedp.Navigate(site+"/admin"),
		chromedp.WaitVisible(chromedp.CSS("#address")),
	); err != nil {
		t.Fatal(err)
	}
}
