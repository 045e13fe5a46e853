package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"site/app/config"
)

// placeRE is where a setting of the fuzzed file was set.
var placeRE = regexp.MustCompile(`^site\.hcl:(\d+)$`)

// FuzzLoadConfig: whatever site.hcl holds, loading it (as `site serve
// --config site.hcl` does: parse, validate, make paths absolute) either
// gives a config or a *config.Error, never a panic; an error names
// site.hcl and a line of it, or no place only when the setting it names
// was not in the file (a default that conflicts with what was set).
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{
		"", "data_dir = \"./data\"\nroles = [\"web\", \"worker\"]\nnats { url = \"nats://n:4222\" }\nobjects { endpoint = \"http://o:9000\" }\n",
		"web {\n  listen = \":8080\"\n  session_idle = \"1h\"\n}\n", "web { listen = 8080 }\n", "roles = \"web\"\n",
		"worker { concurrency = 1.5 }\n", "web {}\nweb {}\n", "nope = 1\n", "web {\n", "site { name = env(\"HOME\") }\n",
		"web {\n  security_txt = <<-EOT\n    Contact: mailto:security@example.org\n    Expires: 2027-01-01T00:00:00Z\n  EOT\n}\n",
		"cron { daily = \"25:00\" }\n", "replica { wal_alert_bytes = 1e400 }\n", "x = ${\n", "roles = [null]\n",
		"analytics { trusted_proxies = [\"10.0.0.0/8\"] }\n", "images { max_pixels = -1 }\n",
	} {
		f.Add([]byte(seed))
	}
	path := filepath.Join(f.TempDir(), "site.hcl")
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 1<<20 {
			return
		}
		if err := os.WriteFile(path, src, 0o600); err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(src, []byte("\n")) + 1
		cfg, err := config.Load("site", []string{"--config", path}, nil)
		if err == nil {
			if cfg == nil || cfg.Source != path {
				t.Fatalf("site.hcl %q: loaded %+v", src, cfg)
			}
			return
		}
		var ce *config.Error
		if !errors.As(err, &ce) {
			t.Fatalf("site.hcl %q: error %T %v is not a *config.Error", src, err, err)
		}
		if ce.Msg == "" {
			t.Fatalf("site.hcl %q: error without a message (%q)", src, err)
		}
		if ce.Where == "" {
			// Only a check of the settings together names no line: the
			// setting it names holds its default.
			return
		}
		m := placeRE.FindStringSubmatch(ce.Where)
		if m == nil {
			t.Fatalf("site.hcl %q: error %q does not name site.hcl:line", src, err)
		}
		if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines {
			t.Fatalf("site.hcl %q (%d lines): error %q names line %d", src, lines, err, n)
		}
	})
}
