package config

import (
	"net/mail"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
)

// Analytics holds the page-view settings of the web and worker roles.
type Analytics struct {
	// Enabled turns page-view tracking on in the web role (default true).
	Enabled bool
	// GeoIPDB is the path of a MaxMind-format country or city database;
	// empty records every country as "unknown".
	GeoIPDB string
	// RespectDNT drops the views of readers who send DNT: 1 or Sec-GPC: 1.
	RespectDNT bool
	// TrustedProxies lists addresses and CIDR prefixes of reverse proxies
	// whose X-Forwarded-For header names the reader; empty trusts none.
	TrustedProxies []string
	// Buffer is how many page views the web role holds while NATS is
	// unreachable; beyond it views are dropped and counted in /metrics.
	Buffer int
}

// Images holds the limits of image processing.
type Images struct {
	// MaxPixels refuses an image with more pixels, before decoding it.
	MaxPixels int
	// MaxBytes refuses an original larger than this.
	MaxBytes int
}

// Notify holds how the worker sends email and SMS, and to whom alerts go.
type Notify struct {
	// From is the sender address of every email.
	From string
	// Admins receive the alerts.
	Admins []string
	// SMTPHost is the mail server; empty prints messages to the log instead.
	SMTPHost string
	// SMTPPort is its port (587 for STARTTLS, 465 for TLS).
	SMTPPort int
	// SMTPUser and SMTPPassword authenticate, when set.
	SMTPUser     string
	SMTPPassword string
	// SMTPTLS is "starttls", "tls" or "none".
	SMTPTLS string
	// SMSURL receives a JSON POST per text message; empty logs them.
	SMSURL string
	// SMSToken is sent as a bearer token to SMSURL, when set.
	SMSToken string
	// AlertEvery is the least time between two emails about alerts.
	AlertEvery time.Duration
}

// EnvSMTPPassword and EnvSMSToken hold the notification secrets.
const (
	EnvSMTPPassword = "SITE_SMTP_PASSWORD"
	EnvSMSToken     = "SITE_SMS_TOKEN"
)

// defaultsWorker are the defaults of the blocks in this file.
func defaultsWorker(c *Config) {
	c.Analytics = Analytics{Enabled: true, Buffer: 200_000}
	c.Images = Images{MaxPixels: 50_000_000, MaxBytes: 50 << 20}
	c.Notify = Notify{SMTPPort: 587, SMTPTLS: "starttls", AlertEvery: 15 * time.Minute,
		SMTPPassword: os.Getenv(EnvSMTPPassword), SMSToken: os.Getenv(EnvSMSToken)}
}

func (c *Config) workerSettings() map[string][]setting {
	s := func(key string, p *string) setting { return setting{key: key, kind: "string", str: p} }
	return map[string][]setting{
		"analytics": {
			{key: "analytics.enabled", kind: "bool", flag: &c.Analytics.Enabled},
			s("analytics.geoip_db", &c.Analytics.GeoIPDB),
			{key: "analytics.respect_dnt", kind: "bool", flag: &c.Analytics.RespectDNT},
			{key: "analytics.trusted_proxies", kind: "list", list: &c.Analytics.TrustedProxies},
			{key: "analytics.buffer", kind: "int", num: &c.Analytics.Buffer},
		},
		"images": {
			{key: "images.max_pixels", kind: "int", num: &c.Images.MaxPixels},
			{key: "images.max_bytes", kind: "int", num: &c.Images.MaxBytes},
		},
		"notify": {
			s("notify.from", &c.Notify.From),
			{key: "notify.admins", kind: "list", list: &c.Notify.Admins},
			s("notify.smtp_host", &c.Notify.SMTPHost),
			{key: "notify.smtp_port", kind: "int", num: &c.Notify.SMTPPort},
			s("notify.smtp_user", &c.Notify.SMTPUser),
			s("notify.smtp_password", &c.Notify.SMTPPassword),
			s("notify.smtp_tls", &c.Notify.SMTPTLS),
			s("notify.sms_url", &c.Notify.SMSURL),
			s("notify.sms_token", &c.Notify.SMSToken),
			{key: "notify.alert_every", kind: "duration", dur: &c.Notify.AlertEvery},
		},
	}
}

// validateWorker checks the worker, analytics, images and notify blocks.
func (c *Config) validateWorker(bad func(key, format string, args ...any) error) error {
	if c.Worker.BatchSize < 1 || c.Worker.BatchSize > 10_000 {
		return bad("worker.batch_size", "must be between 1 and 10000, not %d", c.Worker.BatchSize)
	}
	if c.Analytics.Buffer < 1 || c.Analytics.Buffer > 10_000_000 {
		return bad("analytics.buffer", "must be between 1 and 10000000 page views, not %d", c.Analytics.Buffer)
	}
	for _, p := range c.Analytics.TrustedProxies {
		p = strings.TrimSpace(p)
		_, perr := netip.ParsePrefix(p)
		_, aerr := netip.ParseAddr(p)
		if perr != nil && aerr != nil {
			return bad("analytics.trusted_proxies", "%q is not an address or CIDR prefix such as \"10.0.0.0/8\"", p)
		}
	}
	if c.Images.MaxPixels < 1_000_000 || c.Images.MaxPixels > 500_000_000 {
		return bad("images.max_pixels", "must be between 1000000 and 500000000, not %d", c.Images.MaxPixels)
	}
	if c.Images.MaxBytes < 1<<20 || c.Images.MaxBytes > 1<<30 {
		return bad("images.max_bytes", "must be between 1048576 (1 MiB) and 1073741824 (1 GiB), not %d", c.Images.MaxBytes)
	}
	n := &c.Notify
	if n.From != "" {
		if _, err := mail.ParseAddress(n.From); err != nil {
			return bad("notify.from", "%q is not an email address", n.From)
		}
	} else if n.SMTPHost != "" {
		return bad("notify.from", "required when notify.smtp_host is set")
	}
	for _, a := range n.Admins {
		if _, err := mail.ParseAddress(a); err != nil {
			return bad("notify.admins", "%q is not an email address", a)
		}
	}
	if n.SMTPPort < 1 || n.SMTPPort > 65535 {
		return bad("notify.smtp_port", "must be between 1 and 65535, not %d", n.SMTPPort)
	}
	if !slices.Contains([]string{"starttls", "tls", "none"}, n.SMTPTLS) {
		return bad("notify.smtp_tls", "must be starttls, tls or none, not %q", n.SMTPTLS)
	}
	if n.SMTPUser != "" && n.SMTPPassword == "" {
		return bad("notify.smtp_password", "required when notify.smtp_user is set")
	}
	if n.SMSURL != "" {
		if err := checkURL(n.SMSURL, "http", "https"); err != nil {
			return bad("notify.sms_url", "%v", err)
		}
	}
	if n.AlertEvery <= 0 {
		return bad("notify.alert_every", "must be positive, not %s", n.AlertEvery)
	}
	return nil
}
