package analytics

import "strings"

// Agent is what a user agent string tells about the reader's software.
type Agent struct {
	// Browser is e.g. "Chrome", "Firefox", "Safari", "Edge"; "Other" when unknown.
	Browser string
	// OS is e.g. "Windows", "macOS", "iOS", "Android", "Linux"; "Other" when unknown.
	OS string
	// Device is "desktop", "mobile", "tablet" or "bot".
	Device string
	// Bot names the crawler or tool when the agent is one, else "".
	Bot string
}

// knownBots are substrings (lowercase) of crawlers and tools, with the name
// the ledger records them under. Checked in order.
var knownBots = []struct{ sub, name string }{
	{"googlebot", "Googlebot"}, {"google-inspectiontool", "Googlebot"}, {"adsbot-google", "Googlebot"},
	{"mediapartners-google", "Googlebot"}, {"storebot-google", "Googlebot"}, {"googleother", "Googlebot"},
	{"bingbot", "Bingbot"}, {"bingpreview", "Bingbot"}, {"msnbot", "Bingbot"},
	{"yandex", "Yandex"}, {"baiduspider", "Baidu"}, {"duckduckbot", "DuckDuckBot"},
	{"slurp", "Yahoo"}, {"applebot", "Applebot"}, {"facebookexternalhit", "Facebook"},
	{"facebookcatalog", "Facebook"}, {"meta-externalagent", "Facebook"}, {"twitterbot", "Twitter"},
	{"linkedinbot", "LinkedIn"}, {"slackbot", "Slack"}, {"discordbot", "Discord"},
	{"telegrambot", "Telegram"}, {"whatsapp", "WhatsApp"}, {"pinterest", "Pinterest"},
	{"redditbot", "Reddit"}, {"embedly", "Embedly"}, {"ahrefsbot", "Ahrefs"},
	{"semrushbot", "Semrush"}, {"mj12bot", "Majestic"}, {"dotbot", "Moz"}, {"rogerbot", "Moz"},
	{"petalbot", "PetalBot"}, {"bytespider", "Bytespider"}, {"gptbot", "GPTBot"},
	{"chatgpt-user", "ChatGPT"}, {"oai-searchbot", "ChatGPT"}, {"claudebot", "ClaudeBot"},
	{"claude-web", "ClaudeBot"}, {"anthropic-ai", "ClaudeBot"}, {"perplexitybot", "PerplexityBot"},
	{"ccbot", "CommonCrawl"}, {"amazonbot", "Amazonbot"}, {"ia_archiver", "Internet Archive"},
	{"archive.org_bot", "Internet Archive"}, {"uptimerobot", "UptimeRobot"}, {"pingdom", "Pingdom"},
	{"statuscake", "StatusCake"}, {"seznambot", "Seznam"}, {"qwantify", "Qwant"},
	{"sogou", "Sogou"}, {"exabot", "Exalead"}, {"mojeekbot", "Mojeek"}, {"feedfetcher", "Feed reader"},
	{"feedly", "Feedly"}, {"newsblur", "NewsBlur"}, {"inoreader", "Inoreader"},
	{"curl/", "curl"}, {"wget/", "Wget"}, {"python-requests", "python-requests"},
	{"python-urllib", "Python"}, {"aiohttp", "Python"}, {"httpx", "Python"}, {"scrapy", "Scrapy"},
	{"okhttp", "OkHttp"}, {"java/", "Java"}, {"apache-httpclient", "Java"}, {"libwww-perl", "Perl"},
	{"httpie", "HTTPie"}, {"node-fetch", "Node.js"}, {"axios/", "Node.js"}, {"lighthouse", "Lighthouse"},
	{"phantomjs", "PhantomJS"}, {"nmap", "Nmap"}, {"masscan", "Masscan"}, {"zgrab", "ZGrab"},
}

// genericBot are substrings that mark a crawler without naming it.
var genericBot = []string{"bot/", "bot;", "bot)", "bot ", "-bot", "_bot", "crawler", "crawl", "spider", "scraper", "http://", "https://"}

// ParseAgent reads a user agent string. An empty one is a bot ("unknown").
func ParseAgent(ua string) Agent {
	if strings.TrimSpace(ua) == "" {
		return Agent{Browser: "Other", OS: "Other", Device: "bot", Bot: "unknown"}
	}
	low := strings.ToLower(ua)
	if bot := botName(ua, low); bot != "" {
		return Agent{Browser: "Other", OS: "Other", Device: "bot", Bot: bot}
	}
	a := Agent{Browser: browser(ua), OS: osName(ua), Device: "desktop"}
	switch {
	case strings.Contains(ua, "iPad") || strings.Contains(low, "tablet") ||
		(a.OS == "Android" && !strings.Contains(ua, "Mobile")):
		a.Device = "tablet"
	case strings.Contains(ua, "Mobi") || strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPod") ||
		strings.Contains(low, "windows phone"):
		a.Device = "mobile"
	}
	return a
}

func botName(ua, low string) string {
	for _, b := range knownBots {
		if strings.Contains(low, b.sub) {
			return b.name
		}
	}
	for _, g := range genericBot {
		if strings.Contains(low, g) {
			// Name it by its product token, e.g. "ExampleBot/1.0 (+https://…)".
			name := ua
			if i := strings.IndexAny(name, "/ ;("); i > 0 {
				name = name[:i]
			}
			if len(name) > 40 {
				name = name[:40]
			}
			if name == "Mozilla" || name == "" {
				return "other crawler"
			}
			// A copy: the agent is cached, and ua may be part of a whole batch.
			return strings.Clone(name)
		}
	}
	return ""
}

func browser(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("Edg/") || has("Edge/") || has("EdgA/") || has("EdgiOS/"):
		return "Edge"
	case has("OPR/") || has("Opera"):
		return "Opera"
	case has("SamsungBrowser/"):
		return "Samsung Internet"
	case has("YaBrowser/"):
		return "Yandex Browser"
	case has("Vivaldi/"):
		return "Vivaldi"
	case has("Firefox/") || has("FxiOS/"):
		return "Firefox"
	case has("CriOS/") || has("Chrome/") || has("Chromium/"):
		return "Chrome"
	case has("Safari/") && (has("Version/") || has("iPhone") || has("iPad")):
		return "Safari"
	case has("MSIE ") || has("Trident/"):
		return "Internet Explorer"
	}
	return "Other"
}

func osName(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("Windows Phone"):
		return "Windows Phone"
	case has("Windows"):
		return "Windows"
	case has("iPhone") || has("iPad") || has("iPod"):
		return "iOS"
	case has("Android"):
		return "Android"
	case has("CrOS"):
		return "ChromeOS"
	case has("Mac OS X") || has("Macintosh"):
		return "macOS"
	case has("Linux") || has("X11"):
		return "Linux"
	}
	return "Other"
}
