package analytics_test

import (
	"net/netip"
	"testing"

	"site/app/analytics"
)

func TestParseAgent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ua                       string
		browser, os, device, bot string
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome", "Windows", "desktop", ""},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Edge", "Windows", "desktop", ""},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari", "macOS", "desktop", ""},
		{firefox, "Firefox", "Linux", "desktop", ""},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome", "Android", "mobile", ""},
		{"Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome", "Android", "tablet", ""},
		{"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari", "iOS", "tablet", ""},
		{"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet", "Android", "mobile", ""},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome", "ChromeOS", "desktop", ""},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", "Chrome", "Linux", "desktop", ""},
		{"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "Other", "Other", "bot", "Bingbot"},
		{"Wget/1.21.4", "Other", "Other", "bot", "Wget"},
		{"python-requests/2.32.3", "Other", "Other", "bot", "python-requests"},
		{"ExampleCrawler/1.0 (+https://example.com/crawler)", "Other", "Other", "bot", "ExampleCrawler"},
		{"", "Other", "Other", "bot", "unknown"},
	}
	for _, c := range cases {
		a := analytics.ParseAgent(c.ua)
		if a.Browser != c.browser || a.OS != c.os || a.Device != c.device || a.Bot != c.bot {
			t.Errorf("ParseAgent(%q) = %+v, want %s/%s/%s/%q", c.ua, a, c.browser, c.os, c.device, c.bot)
		}
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	trusted, err := analytics.ParseTrustedProxies([]string{"10.0.0.0/8", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		peer, xff string
		trusted   bool
		want      string
	}{
		{"203.0.113.5", "", true, "203.0.113.5"},
		{"203.0.113.5", "198.51.100.1", true, "203.0.113.5"},                   // untrusted peer: header ignored
		{"10.1.2.3", "198.51.100.1", false, "10.1.2.3"},                        // no trusted proxies configured
		{"10.1.2.3", "198.51.100.1", true, "198.51.100.1"},                     // one trusted hop
		{"127.0.0.1", "6.6.6.6, 198.51.100.1, 10.9.9.9", true, "198.51.100.1"}, // spoofed left part not reached
		{"10.1.2.3", "10.2.2.2, 10.3.3.3", true, "10.2.2.2"},                   // all hops trusted: the leftmost
		{"10.1.2.3", "garbage, 198.51.100.1", true, "198.51.100.1"},
		{"::ffff:203.0.113.5", "", true, "203.0.113.5"},
	}
	for _, c := range cases {
		tr := trusted
		if !c.trusted {
			tr = nil
		}
		if got := analytics.ClientIP(c.peer, c.xff, tr); got != netip.MustParseAddr(c.want) {
			t.Errorf("ClientIP(%q, %q) = %v, want %s", c.peer, c.xff, got, c.want)
		}
	}
	if _, err := analytics.ParseTrustedProxies([]string{"not-an-ip"}); err == nil {
		t.Error("a bad trusted proxy parsed")
	}
}
