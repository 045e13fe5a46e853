package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"site/app/config"
)

// writeConfig writes body as site.hcl in a temp dir and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.hcl")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBadConfig lists bad flags and files with the exact one-line message
// each one gets.
func TestBadConfig(t *testing.T) {
	t.Setenv("SITE_CONFIG", "")
	t.Chdir(t.TempDir())
	cases := []struct {
		name string
		file string // site.hcl body; "" for none
		args []string
		want string
	}{
		{"unknown role flag", "", []string{"--roles=web,webb"}, `flag --roles: unknown role "webb" (known: objects, nats, web, worker, cron)`},
		{"role twice", "", []string{"--roles=web,web", "--nats.url=nats://n:4222", "--objects.endpoint=http://o:9000"}, `flag --roles: role "web" given twice`},
		{"empty roles", "", []string{"--roles="}, `flag --roles: no role given (known: objects, nats, web, worker, cron)`},
		{"unknown flag", "", []string{"--colour=blue"}, `flag --colour: unknown flag`},
		{"flag without value", "", []string{"--web.listen"}, `flag --web.listen: needs a value`},
		{"stray argument", "", []string{"now"}, `serve: unexpected argument "now"`},
		{"listen without port", "", []string{"--web.listen=8080"}, `flag --web.listen: "8080" is not host:port (e.g. ":8080" or "127.0.0.1:8080")`},
		{"port out of range", "", []string{"--objects.listen=:99999"}, `flag --objects.listen: ":99999" has a bad port (0-65535)`},
		{"web without nats", "", []string{"--roles=web,objects"}, `nats.url: required when the nats role runs in another process`},
		{"worker without objects", "", []string{"--roles=worker,nats"}, `objects.endpoint: required when the objects role runs in another process`},
		{"bad nats url", "", []string{"--roles=web", "--nats.url=localhost:4222", "--objects.endpoint=http://o:9000"}, `flag --nats.url: "localhost:4222" is not a nats:// or tls:// URL`},
		{"bad endpoint", "", []string{"--objects.endpoint=s3.example.com"}, `flag --objects.endpoint: "s3.example.com" is not a http:// or https:// URL`},
		{"bad log level", "", []string{"--log_level=loud"}, `flag --log_level: must be debug, info, warn or error, not "loud"`},
		{"missing file", "", []string{"--config=nope.hcl"}, `nope.hcl: cannot read config: no such file or directory`},
		{"syntax error", "web {\n  listen = \n}\n", nil, `site.hcl:2: Invalid expression: Expected the start of an expression, but found an invalid expression token.`},
		{"unknown setting", "data_dir = \"d\"\ncolour = \"blue\"\n", nil, `site.hcl:2: Unsupported argument: An argument named "colour" is not expected here.`},
		{"unknown block", "webb {\n}\n", nil, `site.hcl:1: Unsupported block type: Blocks of type "webb" are not expected here. Did you mean "web"?`},
		{"unknown role in file", "\nroles = [\"web\", \"db\"]\n", nil, `site.hcl:2: roles: unknown role "db" (known: objects, nats, web, worker, cron)`},
		{"roles not a list", "roles = \"web\"\n", nil, `site.hcl:1: roles: must be a list of strings such as ["web", "worker"], not string`},
		{"wrong type", "worker {\n  concurrency = \"four\"\n}\n", nil, `site.hcl:2: worker.concurrency: must be a whole number, not string`},
		{"fractional number", "worker {\n  concurrency = 2.5\n}\n", nil, `site.hcl:2: worker.concurrency: must be a whole number`},
		{"zero concurrency", "worker {\n  concurrency = 0\n}\n", nil, `site.hcl:2: worker.concurrency: must be between 1 and 1024, not 0`},
		{"zero batch size", "worker {\n  batch_size = 0\n}\n", nil, `site.hcl:2: worker.batch_size: must be between 1 and 10000, not 0`},
		{"short session idle", "web {\n  session_idle = \"1m\"\n}\n", nil, `site.hcl:2: web.session_idle: must be between 5m and 8760h (a year), not 1m0s`},
		{"session max under idle", "web {\n  session_idle = \"48h\"\n  session_max = \"24h\"\n}\n", nil, `site.hcl:3: web.session_max: must be at least web.session_idle (48h0m0s) and at most 8760h (a year), not 24h0m0s`},
		{"no streams per address", "live {\n  max_per_ip = 0\n}\n", nil, `site.hcl:2: live.max_per_ip: must be between 1 and 100000, not 0`},
		{"negative stream cap", "live {\n  max_streams = -1\n}\n", nil, `site.hcl:2: live.max_streams: must be between 0 (the open-file limit less 1024) and 1000000, not -1`},
		{"dnt not a bool", "analytics {\n  respect_dnt = \"yes\"\n}\n", nil, `site.hcl:2: analytics.respect_dnt: must be true or false, not string`},
		{"bad trusted proxy", "analytics {\n  trusted_proxies = [\"10.0.0.0/33\"]\n}\n", nil, `site.hcl:2: analytics.trusted_proxies: "10.0.0.0/33" is not an address or CIDR prefix such as "10.0.0.0/8"`},
		{"trusted proxies not a list", "analytics {\n  trusted_proxies = \"10.0.0.1\"\n}\n", nil, `site.hcl:2: analytics.trusted_proxies: must be a list of strings such as ["web", "worker"], not string`},
		{"buffer zero", "analytics {\n  buffer = 0\n}\n", nil, `site.hcl:2: analytics.buffer: must be between 1 and 10000000 page views, not 0`},
		{"tiny pixel cap", "images {\n  max_pixels = 100\n}\n", nil, `site.hcl:2: images.max_pixels: must be between 1000000 and 500000000, not 100`},
		{"huge byte cap", "images {\n  max_bytes = 2147483648\n}\n", nil, `site.hcl:2: images.max_bytes: must be between 1048576 (1 MiB) and 1073741824 (1 GiB), not 2147483648`},
		{"smtp without from", "notify {\n  smtp_host = \"mail.example.com\"\n}\n", nil, `notify.from: required when notify.smtp_host is set`},
		{"bad from", "notify {\n  from = \"site at example\"\n}\n", nil, `site.hcl:2: notify.from: "site at example" is not an email address`},
		{"bad admin", "notify {\n  admins = [\"ops@example.com\", \"nobody\"]\n}\n", nil, `site.hcl:2: notify.admins: "nobody" is not an email address`},
		{"bad smtp tls", "notify {\n  smtp_tls = \"ssl\"\n}\n", nil, `site.hcl:2: notify.smtp_tls: must be starttls, tls or none, not "ssl"`},
		{"bad smtp port", "notify {\n  smtp_port = 0\n}\n", nil, `site.hcl:2: notify.smtp_port: must be between 1 and 65535, not 0`},
		{"user without password", "notify {\n  smtp_user = \"u\"\n  smtp_password = \"\"\n}\n", nil, `site.hcl:3: notify.smtp_password: required when notify.smtp_user is set`},
		{"bad sms url", "notify {\n  sms_url = \"sms.example.com/send\"\n}\n", nil, `site.hcl:2: notify.sms_url: "sms.example.com/send" is not a http:// or https:// URL`},
		{"zero alert interval", "notify {\n  alert_every = \"0s\"\n}\n", nil, `site.hcl:2: notify.alert_every: must be positive, not 0s`},
		{"bad duration", "replica {\n  sync_interval = \"soon\"\n}\n", nil, `site.hcl:2: replica.sync_interval: "soon" is not a duration such as "1s" or "500ms"`},
		{"negative duration", "replica {\n  sync_interval = \"-1s\"\n}\n", nil, `site.hcl:2: replica.sync_interval: must be positive, not -1s`},
		{"check too often", "replica {\n  sync_interval = \"1s\"\n  check_interval = \"100ms\"\n}\n", nil, `site.hcl:3: replica.check_interval: must be at least 1s, not 100ms`},
		{"tiny wal alert", "replica {\n  wal_alert_bytes = 1000\n}\n", nil, `site.hcl:2: replica.wal_alert_bytes: must be at least 1048576 (1 MiB), not 1000`},
		{"absolute replica path", "replica {\n  path = \"/data.db\"\n}\n", nil, `site.hcl:2: replica.path: must be a relative key prefix such as "data.db", not "/data.db"`},
		{"block twice", "web {\n}\nweb {\n}\n", nil, `site.hcl:3: block "web" given twice`},
		{"half a key pair", "objects {\n  access_key = \"a\"\n}\n", nil, `objects.secret_key: access_key and secret_key must be set together`},
		{"unknown function", "data_dir = envv(\"HOME\")\n", nil, `site.hcl:1: Call to unknown function: There is no function named "envv". Did you mean "env"?`},
		{"offsite endpoint not a url", "offsite {\n  endpoint = \"s3.example.com\"\n  bucket = \"b-1\"\n}\n", nil, `site.hcl:2: offsite.endpoint: "s3.example.com" is not a http:// or https:// URL`},
		{"offsite endpoint without bucket", "offsite {\n  endpoint = \"http://s3:9000\"\n}\n", nil, `offsite.bucket: required when offsite.endpoint is set`},
		{"offsite bad bucket", "offsite {\n  bucket = \"a/b\"\n}\n", nil, `site.hcl:2: offsite.bucket: "a/b" is not a bucket name (3-63 characters, no slash or space)`},
		{"offsite absolute prefix", "offsite {\n  bucket = \"bkt\"\n  prefix = \"/site\"\n}\n", nil, `site.hcl:3: offsite.prefix: must be a relative key prefix such as "site/", not "/site"`},
		{"offsite half a key pair", "offsite {\n  bucket = \"bkt\"\n  access_key = \"a\"\n  secret_key = \"\"\n}\n", nil, `site.hcl:4: offsite.secret_key: access_key and secret_key must be set together`},
		{"cron bad time", "cron {\n  daily = \"25:00\"\n}\n", nil, `site.hcl:2: cron.daily: "25:00" is not "HH:MM" such as "03:30" or "off"`},
		{"cron weekly without day", "cron {\n  weekly = \"04:00\"\n}\n", nil, `site.hcl:2: cron.weekly: "04:00" is not "DAY HH:MM" such as "sun 04:00" or "off"`},
		{"cron bad day", "cron {\n  biweekly = \"sunday 04:00\"\n}\n", nil, `site.hcl:2: cron.biweekly: "sunday 04:00" is not "DAY HH:MM" such as "sun 04:00" or "off"`},
		{"cron bad zone", "cron {\n  timezone = \"Mars/Base\"\n}\n", nil, `site.hcl:2: cron.timezone: unknown time zone "Mars/Base" (e.g. "UTC" or "Europe/Paris")`},
		{"bad public url", "objects {\n  public_url = \"cdn.example.com\"\n}\n", nil, `site.hcl:2: objects.public_url: "cdn.example.com" is not a http:// or https:// URL`},
		{"empty site name", "site {\n  name = \" \"\n}\n", nil, `site.hcl:2: site.name: must not be empty`},
		{"bad language", "site {\n  language = \"english please\"\n}\n", nil, `site.hcl:2: site.language: "english please" is not a language tag such as "en" or "pt-BR"`},
		{"security.txt without contact", "web {\n  security_txt = \"Expires: 2030-01-01T00:00:00Z\\n\"\n}\n", nil, `site.hcl:2: web.security_txt: needs a "Contact:" line (RFC 9116), e.g. "Contact: mailto:security@example.org"`},
		{"security.txt without expires", "web {\n  security_txt = <<-EOT\n    Contact: mailto:security@example.org\n  EOT\n}\n", nil, `site.hcl:2: web.security_txt: needs an "Expires:" line (RFC 9116), e.g. "Expires: 2030-01-01T00:00:00Z"`},
		{"security.txt bad expires", "web {\n  security_txt = \"Contact: mailto:s@example.org\\nExpires: next year\\n\"\n}\n", nil, `site.hcl:2: web.security_txt: the Expires date "next year" is not an RFC 3339 date such as "2030-01-01T00:00:00Z"`},
		{"security.txt two expires", "web {\n  security_txt = \"Contact: mailto:s@example.org\\nExpires: 2030-01-01T00:00:00Z\\nExpires: 2031-01-01T00:00:00Z\\n\"\n}\n", nil, `site.hcl:2: web.security_txt: has more than one "Expires:" line`},
		{"flag beats file", "web {\n  listen = \"bad\"\n}\n", []string{"--web.listen=:0"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.file != "" {
				args = append([]string{"--config", writeConfig(t, c.file)}, args...)
			}
			_, err := config.Load("serve", args, nil)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("\n got: %s\nwant: %s", got, c.want)
			}
		})
	}
}

// TestDefaults checks that no file and no flag gives a runnable config with
// the data dir under the working directory.
func TestDefaults(t *testing.T) {
	t.Setenv("SITE_CONFIG", "")
	wd := t.TempDir()
	t.Chdir(wd)
	cfg, err := config.Load("serve", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source != "defaults" || cfg.DataDir != filepath.Join(wd, "data") || !slices.Equal(cfg.Roles, config.AllRoles) {
		t.Errorf("defaults: source %q, data dir %q, roles %v", cfg.Source, cfg.DataDir, cfg.Roles)
	}
	if cfg.Web.Listen != ":8080" || cfg.Objects.Listen != "127.0.0.1:9000" || cfg.NATS.Listen != "" || cfg.Replica.SyncInterval != time.Second {
		t.Errorf("defaults: %+v", cfg)
	}
}

// TestExampleFile loads the annotated site.hcl at the repository root: it
// must parse, hold the defaults, and read secrets through env().
func TestExampleFile(t *testing.T) {
	t.Setenv("SITE_S3_ACCESS_KEY", "ak")
	t.Setenv("SITE_S3_SECRET_KEY", "sk")
	t.Setenv("SITE_NATS_TOKEN", "tok")
	cfg, err := config.Load("serve", []string{"--config", "../../site.hcl", "--roles", "worker,cron,web,nats,objects"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("../..")
	def := config.Default()
	if cfg.DataDir != filepath.Join(root, "data") {
		t.Errorf("data dir %q is not relative to the file", cfg.DataDir)
	}
	if !slices.Equal(cfg.Roles, config.AllRoles) {
		t.Errorf("roles %v not in start-up order", cfg.Roles)
	}
	if cfg.Objects.AccessKey != "ak" || cfg.Objects.SecretKey != "sk" || cfg.NATS.Token != "tok" {
		t.Errorf("env() not applied: %+v %+v", cfg.Objects, cfg.NATS)
	}
	if cfg.Web != def.Web || cfg.Live != def.Live || cfg.Replica != def.Replica || cfg.Worker != def.Worker || cfg.Objects.Listen != def.Objects.Listen ||
		cfg.Cron != def.Cron || cfg.Offsite.Bucket != "" || cfg.Offsite.Region != def.Offsite.Region {
		t.Errorf("site.hcl differs from the defaults: %+v", cfg)
	}
}

// TestSecurityTxtHeredoc reads web.security_txt from an indented heredoc:
// the indentation goes, the lines and the final newline stay.
func TestSecurityTxtHeredoc(t *testing.T) {
	t.Setenv("SITE_CONFIG", "")
	t.Chdir(t.TempDir())
	body := "web {\n  security_txt = <<-EOT\n    # Our policy\n    Contact: mailto:security@example.org\n    Expires: 2030-01-01T00:00:00Z\n  EOT\n}\n"
	cfg, err := config.Load("serve", []string{"--config", writeConfig(t, body)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Our policy\nContact: mailto:security@example.org\nExpires: 2030-01-01T00:00:00Z\n"
	if cfg.Web.SecurityTxt != want {
		t.Errorf("security_txt = %q, want %q", cfg.Web.SecurityTxt, want)
	}
}
