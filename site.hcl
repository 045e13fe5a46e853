# site.hcl — every setting of `site`, with its default.
#
# `site serve` runs on these defaults when no config file exists, so this file
# is documentation as much as configuration. The config file is --config,
# else $SITE_CONFIG, else ./site.hcl when present, else none (the defaults).
# Flags named like a setting override it: --data-dir, --roles, --log_level,
# --web.listen, --web.base_url, --nats.listen, --nats.url, --objects.listen,
# --objects.endpoint, --ops.listen.
# Secrets come from the environment with env("NAME"); an unset variable is "".
# Without a config file the same variables (SITE_NATS_TOKEN, SITE_S3_*,
# SITE_OFFSITE_*) are read all the same.
# Relative paths are taken from the directory of this file.

# Where data.db, ttl.db, the NATS store and the object buckets live.
data_dir = "./data"

# Which roles this process runs: any of objects, nats, web, worker, cron.
roles = ["objects", "nats", "web", "worker", "cron"]

# Log level: debug, info, warn or error. Logs are JSON lines on stderr when
# log_format = "json", human-readable text otherwise.
log_level  = "info"
log_format = "text"

web {
  # Address the site listens on.
  listen = ":8080"
  # The public URL of the site, used in links and printed at start-up.
  # Empty: derived from listen (http://localhost:PORT). When it is https://,
  # responses carry Strict-Transport-Security (one year, this host only).
  base_url = ""
  # Served as text/plain at /.well-known/security.txt (RFC 9116), telling
  # people how to report a vulnerability; empty serves none (404). It needs a
  # Contact: line and one Expires: line (RFC 3339; keep it under a year ahead).
  # security_txt = <<-EOT
  #   Contact: mailto:security@example.org
  #   Expires: 2027-01-01T00:00:00Z
  #   Preferred-Languages: en
  # EOT
  # A sign-in session ends when unused for session_idle, and at the latest
  # session_max after it began (then the owner signs in again).
  session_idle = "336h"
  session_max  = "2160h"
}

live {
  # Live streams (Server-Sent Events: the admin's dashboard, the reader count
  # of each post page) one web process holds open; beyond it new ones are
  # answered 503. 0: the open-file limit less 1024.
  max_streams = 0
  # Streams one client address may hold open; beyond it 429.
  max_per_ip = 32
}

nats {
  # TCP address of the embedded NATS server (nats role). Empty: no port is
  # opened and only roles in this process reach it, in-process.
  listen = ""
  # Where roles without the nats role in this process connect,
  # e.g. "nats://nats:4222". Required when nats is not one of `roles`.
  url = ""
  # Token clients present to the TCP listener. Required when listen is set
  # or url is used; empty means one is generated into data_dir/secrets.
  token = env("SITE_NATS_TOKEN")
}

objects {
  # Address of the embedded S3 server (objects role). It takes the root keys,
  # so loopback only by default; ":9000" when other machines or containers
  # reach it (compose.yaml sets that for its objects service).
  listen = "127.0.0.1:9000"
  # Where other roles reach the S3 API, e.g. "http://objects:9000" or any
  # S3-compatible store. Empty: the objects role in this process.
  endpoint = ""
  region   = "us-east-1"
  # Keys of the S3 API. Empty: a pair is generated into data_dir/secrets on
  # first start and reused (processes sharing data_dir share it).
  access_key = env("SITE_S3_ACCESS_KEY")
  secret_key = env("SITE_S3_SECRET_KEY")
  # Where readers fetch images and files of the public bucket, e.g. a CDN
  # in front of it ("https://cdn.example.com/public"). Empty: the site
  # streams them itself under /media/ (with Range and caching headers).
  public_url = ""
}

site {
  # Shown in the header, page titles, feeds and link cards.
  name = "My site"
  # The home page's summary, the feeds' subtitle, the default description.
  description = ""
  # Named as the author in feeds and structured data (JSON-LD).
  author = ""
  # The pages' language (lang attribute, feeds).
  language = "en"
}

comments {
  # Which new comments wait for the admin's approval before readers see
  # them: "all", "first" (a reader's comments until one of them is approved)
  # or "none". An admin's own comments are never held.
  moderation = "first"
  # Close a post's comments this many days after it was published; 0 keeps
  # them open. Each post also has its own switch in the admin panel.
  close_after_days = 0
}

replica {
  # Litestream replicates data.db into this bucket under path.
  bucket = "backup"
  path   = "data.db"
  # How often new WAL frames are shipped to the bucket.
  sync_interval = "1s"
  # How often cron proves the replica: it restores the latest point into a
  # scratch file, runs integrity_check and compares row counts with data.db
  # (also at every start of cron). A failure alerts and forces a snapshot.
  check_interval = "1h"
  # Only Litestream (the cron role) checkpoints data.db's WAL, so the WAL
  # grows while cron is away; past this size the other roles raise an alert.
  wal_alert_bytes = 268435456
}

worker {
  # Jobs handled at once (an image, a mail, or one batch of page views each).
  concurrency = 4
  # Most page views stored in one SQLite transaction.
  batch_size = 2000
}

analytics {
  # Page-view tracking by the web role; false publishes no page views.
  enabled = true
  # A MaxMind-format country or city database (GeoLite2-Country.mmdb, or the
  # CC0 one of npm's @ip-location-db/geo-whois-asn-country-mmdb). Empty:
  # every country is "unknown". Relative to this file.
  geoip_db = ""
  # Drop the views of readers who send DNT: 1 or Sec-GPC: 1.
  respect_dnt = false
  # Reverse proxies (addresses or CIDR prefixes) whose X-Forwarded-For names
  # the reader, e.g. ["10.0.0.0/8"]. Empty: the TCP peer is the reader and
  # the header is ignored.
  trusted_proxies = []
  # Page views the web role holds while NATS is unreachable (100-300 bytes
  # each): beyond it they are dropped and counted in /metrics
  # (site_jobs_dropped_total{kind="pageview"}).
  buffer = 200000
}

images {
  # Originals with more pixels are refused before decoding.
  max_pixels = 50000000
  # Originals larger than this many bytes are refused (50 MiB).
  max_bytes = 52428800
}

notify {
  # Sender of every email, e.g. "Site <site@example.com>"; required with
  # smtp_host.
  from = ""
  # Who receives alerts (grouped; at most one email per alert_every).
  admins      = []
  alert_every = "15m"
  # Mail server. Empty smtp_host: emails are printed to the log instead.
  smtp_host     = ""
  smtp_port     = 587
  smtp_tls      = "starttls" # starttls, tls (implicit, port 465) or none
  smtp_user     = ""
  smtp_password = env("SITE_SMTP_PASSWORD")
  # SMS: a JSON POST {"to": "+15551234567", "text": "..."} to this URL, with
  # sms_token as a bearer token. Empty: text messages are printed to the log.
  sms_url   = ""
  sms_token = env("SITE_SMS_TOKEN")
}

ops {
  # Address of /healthz, /readyz (with the reason of a failing check) and
  # /metrics, in a process of any roles; the site's own web.listen serves
  # /healthz and /readyz but never /metrics. Empty: no ops listener, so no
  # /metrics (set it with your scraper, e.g. "127.0.0.1:9100" on this host).
  # compose.yaml sets ":9100" on every service.
  listen = ""
}

offsite {
  # The offsite copy of the buckets (docs/operations.md, "Backups"): daily/,
  # 1-week/ and 2-week/ tiers under prefix in bucket. Empty bucket: offsite
  # backups are off and their scheduled runs are recorded as skipped.
  bucket = ""
  prefix = ""
  # Any S3 API, e.g. "https://s3.eu-central-003.backblazeb2.com". Empty: AWS S3
  # in region.
  endpoint = ""
  region   = "us-east-1"
  # Empty: the AWS default credential chain (AWS_ACCESS_KEY_ID..., shared
  # files, instance role).
  access_key = env("SITE_OFFSITE_ACCESS_KEY")
  secret_key = env("SITE_OFFSITE_SECRET_KEY")
}

cron {
  # When the cron role's tasks run: "HH:MM" every day, "DAY HH:MM" (sun, mon,
  # ... sat) every week, or "off". A time missed while no cron process ran
  # runs at the next start. On Sundays the oldest tier is copied first.
  timezone    = "UTC"
  ttl_cleanup = "02:30"     # delete expired rows of ttl.db
  biweekly    = "sun 03:00" # 1-week/ -> 2-week/, on even weeks (counted from 1970-01-05)
  weekly      = "sun 03:15" # daily/ -> 1-week/
  daily       = "03:30"     # Litestream sync, then the buckets -> daily/
  verify      = "sat 05:00" # restore each tier into a scratch dir and check it
}
