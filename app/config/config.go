// Package config holds the settings of site: their defaults, how site.hcl and
// command-line flags set them, and the checks that refuse a bad combination
// before anything starts.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Role names.
const (
	RoleObjects = "objects"
	RoleNATS    = "nats"
	RoleWeb     = "web"
	RoleWorker  = "worker"
	RoleCron    = "cron"
)

// AllRoles lists every role in a fixed order; Validate sorts Roles by it.
var AllRoles = []string{RoleObjects, RoleNATS, RoleWeb, RoleWorker, RoleCron}

// Bucket names the object store always has.
const (
	BucketPublic  = "public"
	BucketPrivate = "private"
	BucketBackup  = "backup"
)

// Config is every setting of one process, after defaults, site.hcl and flags.
type Config struct {
	// Source names where the settings came from: a file path, or "defaults".
	Source string
	// DataDir is the absolute directory of data.db, ttl.db, NATS and buckets.
	DataDir string
	// Roles lists the roles this process runs, in the order of AllRoles.
	Roles []string
	// LogLevel is one of debug, info, warn, error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string

	Web     Web
	Live    Live
	NATS    NATS
	Objects Objects
	Replica Replica
	Worker  Worker
	Ops     Ops
	Offsite Offsite
	Cron    Cron
	Site    Site
	// Comments is the moderation policy of readers' comments (comments.go).
	Comments Comments
	// Analytics, Images and Notify are the worker's settings (worker.go).
	Analytics Analytics
	Images    Images
	Notify    Notify
}

// Site describes the site to readers: page titles, feeds, cards.
type Site struct {
	// Name is shown in the header, titles and feeds.
	Name string
	// Description is the home page's summary and the feeds' subtitle.
	Description string
	// Author is named in feeds and structured data.
	Author string
	// Language is the pages' lang attribute, e.g. "en".
	Language string
}

// Offsite is the S3 store that receives the daily, weekly and biweekly
// copies of the buckets. It is off while Bucket is empty.
type Offsite struct {
	// Endpoint is the S3 API URL; empty means AWS S3 in Region.
	Endpoint string
	// Region is the S3 region name.
	Region string
	// Bucket receives the tiers; empty turns offsite backups off.
	Bucket string
	// Prefix is put before the tier names daily/, 1-week/ and 2-week/.
	Prefix string
	// AccessKey and SecretKey sign requests; empty means the AWS default
	// credential chain (environment, shared files, instance role).
	AccessKey string
	SecretKey string
}

// Web holds the settings of the web role.
type Web struct {
	// Listen is the address of the site's HTTP server.
	Listen string
	// BaseURL is the public URL of the site; empty derives it from Listen.
	BaseURL string
	// SecurityTxt is the text served at /.well-known/security.txt
	// (RFC 9116); empty serves none.
	SecurityTxt string
	// SessionIdle ends a sign-in session unused this long; SessionMax
	// ends any session this long after it began.
	SessionIdle, SessionMax time.Duration
}

// Live holds the limits of the web role's live streams (SSE, app/live).
type Live struct {
	// MaxStreams is how many streams one web process holds open before it
	// answers 503; 0 means the open-file limit less 1024.
	MaxStreams int
	// MaxPerIP is how many streams one client address may hold open before
	// it is answered 429.
	MaxPerIP int
}

// NATS holds the settings of the nats role and of its clients.
type NATS struct {
	// Listen is the TCP address of the embedded server; empty opens no port.
	Listen string
	// URL is where roles without a local nats role connect.
	URL string
	// Token authenticates TCP clients; empty means generated.
	Token string
}

// Objects holds the settings of the objects role and of its clients.
type Objects struct {
	// Listen is the address of the embedded S3 API.
	Listen string
	// Endpoint is where other roles reach the S3 API; empty means local.
	Endpoint string
	// Region is the S3 region name.
	Region string
	// AccessKey and SecretKey sign S3 requests; empty means generated.
	AccessKey string
	SecretKey string
	// PublicURL is a cache (a CDN) whose origin is the site's /media/,
	// where pages then link images; empty links them under /media/ on the
	// site itself.
	PublicURL string
}

// Replica holds the Litestream settings of the cron role.
type Replica struct {
	// Bucket receives the replica of data.db.
	Bucket string
	// Path is the key prefix of the replica inside Bucket.
	Path string
	// SyncInterval is how often WAL frames are shipped.
	SyncInterval time.Duration
	// CheckInterval is how often the cron role restores the latest point of
	// the replica into a scratch file and compares it with data.db (also
	// once at every start).
	CheckInterval time.Duration
	// WALAlertBytes is the size of data.db's WAL past which a process
	// without the cron role raises an alert: only Litestream checkpoints
	// the WAL, so it grows while cron is away.
	WALAlertBytes int
}

// Worker holds the settings of the worker role.
type Worker struct {
	// Concurrency is the number of jobs handled at once.
	Concurrency int
	// BatchSize is the most page views stored in one transaction.
	BatchSize int
}

// Ops holds the listener of /healthz, /readyz (with reasons) and /metrics, in every process.
type Ops struct {
	// Listen is the address of /healthz, /readyz and /metrics; empty serves none.
	Listen string
}

// Environment variables that hold secrets. They are the defaults of the
// matching settings, so a process without a config file still reads them;
// site.hcl reads them explicitly with env("NAME").
const (
	EnvNATSToken   = "SITE_NATS_TOKEN"
	EnvS3AccessKey = "SITE_S3_ACCESS_KEY"
	EnvS3SecretKey = "SITE_S3_SECRET_KEY"
	// EnvOffsiteAccessKey and EnvOffsiteSecretKey sign offsite requests.
	EnvOffsiteAccessKey = "SITE_OFFSITE_ACCESS_KEY"
	EnvOffsiteSecretKey = "SITE_OFFSITE_SECRET_KEY"
)

// Default returns the settings used when nothing is configured; the
// secrets come from the environment (empty when unset).
func Default() Config {
	c := Config{
		Source:    "defaults",
		DataDir:   "./data",
		Roles:     slices.Clone(AllRoles),
		LogLevel:  "info",
		LogFormat: "text",
		Web:       Web{Listen: ":8080", SessionIdle: 14 * 24 * time.Hour, SessionMax: 90 * 24 * time.Hour},
		Live:      Live{MaxPerIP: 32},
		NATS:      NATS{Token: os.Getenv(EnvNATSToken)},
		Objects: Objects{
			Listen: "127.0.0.1:9000", Region: "us-east-1",
			AccessKey: os.Getenv(EnvS3AccessKey), SecretKey: os.Getenv(EnvS3SecretKey),
		},
		Replica: Replica{Bucket: BucketBackup, Path: "data.db", SyncInterval: time.Second, CheckInterval: time.Hour, WALAlertBytes: 256 << 20},
		Worker:  Worker{Concurrency: 4, BatchSize: 2000},
		Offsite: Offsite{
			Region:    "us-east-1",
			AccessKey: os.Getenv(EnvOffsiteAccessKey), SecretKey: os.Getenv(EnvOffsiteSecretKey),
		},
		Site: Site{Name: "My site", Language: "en"},
		Cron: Cron{
			Timezone: "UTC", TTLCleanup: "02:30", Biweekly: "sun 03:00",
			Weekly: "sun 03:15", Daily: "03:30", Verify: "sat 05:00",
		},
	}
	defaultsWorker(&c)
	defaultsComments(&c)
	return c
}

// Has reports whether this process runs role.
func (c *Config) Has(role string) bool { return slices.Contains(c.Roles, role) }

// SiteURL is the URL readers use, derived from Listen when BaseURL is empty.
func (c *Config) SiteURL(listenAddr string) string {
	if c.Web.BaseURL != "" {
		return strings.TrimRight(c.Web.BaseURL, "/")
	}
	return "http://" + reachable(listenAddr)
}

// reachable turns a listen address into one a local client can dial.
func reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// Reachable turns a listen address such as ":8080" into one a client on this
// machine can dial, such as "localhost:8080".
func Reachable(addr string) string { return reachable(addr) }

// Error is a problem with one setting; Where names the file:line or flag.
type Error struct {
	Where string
	Msg   string
}

func (e *Error) Error() string {
	if e.Where == "" {
		return e.Msg
	}
	return e.Where + ": " + e.Msg
}

// Validate checks the settings together; where maps a setting name to the
// place it was set (file:line or flag), for the message.
func (c *Config) Validate(where func(key string) string) error {
	bad := func(key, format string, args ...any) error {
		w, msg := where(key), fmt.Sprintf(format, args...)
		if !strings.HasPrefix(w, "flag ") {
			msg = key + ": " + msg
		}
		return &Error{Where: w, Msg: msg}
	}
	if len(c.Roles) == 0 {
		return bad("roles", "no role given (known: %s)", strings.Join(AllRoles, ", "))
	}
	seen := map[string]bool{}
	for _, r := range c.Roles {
		if !slices.Contains(AllRoles, r) {
			return bad("roles", "unknown role %q (known: %s)", r, strings.Join(AllRoles, ", "))
		}
		if seen[r] {
			return bad("roles", "role %q given twice", r)
		}
		seen[r] = true
	}
	// Keep one order whatever order the roles were given in.
	ordered := make([]string, 0, len(c.Roles))
	for _, r := range AllRoles {
		if seen[r] {
			ordered = append(ordered, r)
		}
	}
	c.Roles = ordered

	if c.DataDir == "" {
		return bad("data_dir", "must not be empty")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		return bad("log_level", "must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return bad("log_format", "must be text or json, not %q", c.LogFormat)
	}
	for _, l := range []struct{ key, addr string }{
		{"web.listen", c.Web.Listen}, {"nats.listen", c.NATS.Listen},
		{"objects.listen", c.Objects.Listen}, {"ops.listen", c.Ops.Listen},
	} {
		if l.addr == "" && (l.key == "nats.listen" || l.key == "ops.listen") {
			continue
		}
		if err := checkListen(l.addr); err != nil {
			return bad(l.key, "%v", err)
		}
	}
	if c.Web.BaseURL != "" {
		if err := checkURL(c.Web.BaseURL, "http", "https"); err != nil {
			return bad("web.base_url", "%v", err)
		}
	}
	if c.Web.SecurityTxt != "" {
		if err := checkSecurityTxt(c.Web.SecurityTxt); err != nil {
			return bad("web.security_txt", "%v", err)
		}
	}
	if c.Web.SessionIdle < 5*time.Minute || c.Web.SessionIdle > 365*24*time.Hour {
		return bad("web.session_idle", "must be between 5m and 8760h (a year), not %s", c.Web.SessionIdle)
	}
	if c.Web.SessionMax < c.Web.SessionIdle || c.Web.SessionMax > 365*24*time.Hour {
		return bad("web.session_max", "must be at least web.session_idle (%s) and at most 8760h (a year), not %s", c.Web.SessionIdle, c.Web.SessionMax)
	}
	if c.Live.MaxStreams < 0 || c.Live.MaxStreams > 1_000_000 {
		return bad("live.max_streams", "must be between 0 (the open-file limit less 1024) and 1000000, not %d", c.Live.MaxStreams)
	}
	if c.Live.MaxPerIP < 1 || c.Live.MaxPerIP > 100_000 {
		return bad("live.max_per_ip", "must be between 1 and 100000, not %d", c.Live.MaxPerIP)
	}
	needsNATS := c.Has(RoleWeb) || c.Has(RoleWorker)
	if c.NATS.URL != "" {
		if err := checkURL(c.NATS.URL, "nats", "tls"); err != nil {
			return bad("nats.url", "%v", err)
		}
	} else if needsNATS && !c.Has(RoleNATS) {
		return bad("nats.url", "required when the nats role runs in another process")
	}
	needsObjects := c.Has(RoleWeb) || c.Has(RoleWorker) || c.Has(RoleCron)
	if c.Objects.Endpoint != "" {
		if err := checkURL(c.Objects.Endpoint, "http", "https"); err != nil {
			return bad("objects.endpoint", "%v", err)
		}
	} else if needsObjects && !c.Has(RoleObjects) {
		return bad("objects.endpoint", "required when the objects role runs in another process")
	}
	if (c.Objects.AccessKey == "") != (c.Objects.SecretKey == "") {
		return bad("objects.secret_key", "access_key and secret_key must be set together")
	}
	if c.Objects.Region == "" {
		return bad("objects.region", "must not be empty")
	}
	if c.Objects.PublicURL != "" {
		if err := checkURL(c.Objects.PublicURL, "http", "https"); err != nil {
			return bad("objects.public_url", "%v", err)
		}
	}
	if strings.TrimSpace(c.Site.Name) == "" {
		return bad("site.name", "must not be empty")
	}
	if !langRE.MatchString(c.Site.Language) {
		return bad("site.language", "%q is not a language tag such as \"en\" or \"pt-BR\"", c.Site.Language)
	}
	if c.Replica.Bucket == "" {
		return bad("replica.bucket", "must not be empty")
	}
	if c.Replica.Path == "" || strings.HasPrefix(c.Replica.Path, "/") {
		return bad("replica.path", "must be a relative key prefix such as \"data.db\", not %q", c.Replica.Path)
	}
	if c.Replica.SyncInterval <= 0 {
		return bad("replica.sync_interval", "must be positive, not %s", c.Replica.SyncInterval)
	}
	if c.Replica.CheckInterval < time.Second {
		return bad("replica.check_interval", "must be at least 1s, not %s", c.Replica.CheckInterval)
	}
	if c.Replica.WALAlertBytes < 1<<20 {
		return bad("replica.wal_alert_bytes", "must be at least 1048576 (1 MiB), not %d", c.Replica.WALAlertBytes)
	}
	if c.Worker.Concurrency < 1 || c.Worker.Concurrency > 1024 {
		return bad("worker.concurrency", "must be between 1 and 1024, not %d", c.Worker.Concurrency)
	}
	if err := c.validateWorker(bad); err != nil {
		return err
	}
	if err := c.validateComments(bad); err != nil {
		return err
	}
	return c.validateBackups(bad)
}

var langRE = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)

func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. \":8080\" or \"127.0.0.1:8080\")", addr)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q has a bad host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has a bad port (0-65535)", addr)
	}
	return nil
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		return fmt.Errorf("%q is not a %s:// URL", raw, strings.Join(schemes, ":// or "))
	}
	return nil
}

// Abs makes DataDir absolute, relative to base (the config file's directory
// or the working directory). The object server changes the working
// directory, so every path must be absolute before it starts.
func (c *Config) Abs(base string) error {
	if g := c.Analytics.GeoIPDB; g != "" && !filepath.IsAbs(g) {
		abs, err := filepath.Abs(filepath.Join(base, g))
		if err != nil {
			return fmt.Errorf("analytics.geoip_db: %w", err)
		}
		c.Analytics.GeoIPDB = abs
	}
	if filepath.IsAbs(c.DataDir) {
		c.DataDir = filepath.Clean(c.DataDir)
		return nil
	}
	abs, err := filepath.Abs(filepath.Join(base, c.DataDir))
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	c.DataDir = abs
	return nil
}
