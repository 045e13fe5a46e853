package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// flagKeys lists the settings a flag of the same name overrides.
var flagKeys = []string{
	"data-dir", "roles", "log_level", "log_format", "web.listen", "web.base_url", "nats.listen", "nats.url",
	"objects.listen", "objects.endpoint", "ops.listen",
}

// flagSetting maps a flag name to its site.hcl key where they differ.
var flagSetting = map[string]string{"data-dir": "data_dir"}

// Load builds the Config of a command from its flags: it finds the config
// file (--config, else $SITE_CONFIG, else ./site.hcl when present, else the
// defaults), applies the flags over it, makes paths absolute and validates.
// extra may define more flags of the command; it may be nil. Errors are one
// line naming the file:line or flag.
func Load(name string, args []string, extra func(*flag.FlagSet)) (*Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", "", "path of site.hcl")
	values := map[string]*string{}
	for _, k := range flagKeys {
		values[k] = fs.String(k, "", "overrides "+k)
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, flagError(err)
	}
	if fs.NArg() > 0 {
		return nil, &Error{Msg: fmt.Sprintf("%s: unexpected argument %q", name, fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := Default()
	places := Places{}
	path := *configPath
	if path == "" {
		path = os.Getenv("SITE_CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("site.hcl"); err == nil {
			path = "site.hcl"
		}
	}
	base, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	if path != "" {
		if err := cfg.LoadFile(path, places); err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("config path: %w", err)
		}
		base = filepath.Dir(abs)
		cfg.Source = abs
	}
	for _, k := range flagKeys {
		if !set[k] {
			continue
		}
		key := k
		if s, ok := flagSetting[k]; ok {
			key = s
		}
		v := *values[k]
		for _, st := range cfg.settings()[block(key)] {
			if st.key != key {
				continue
			}
			if st.kind == "list" {
				*st.list = splitList(v)
			} else {
				*st.str = v
			}
		}
		places[key] = "flag --" + k
		if key == "data_dir" {
			// A data dir given on the command line is relative to the working directory.
			if wd, err := os.Getwd(); err == nil && !filepath.IsAbs(v) {
				cfg.DataDir = filepath.Join(wd, v)
			}
		}
	}
	if err := cfg.Validate(places.Where); err != nil {
		return nil, err
	}
	if err := cfg.Abs(base); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func block(key string) string {
	if i := strings.IndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// flagError rewrites the flag package's messages into the one-line form.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return &Error{Where: "flag --" + strings.TrimPrefix(rest, "-"), Msg: "unknown flag"}
	}
	if rest, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return &Error{Where: "flag --" + strings.TrimPrefix(rest, "-"), Msg: "needs a value"}
	}
	if strings.HasPrefix(msg, "invalid value") {
		// invalid value "x" for flag -name: reason
		if i := strings.Index(msg, "for flag -"); i >= 0 {
			rest := msg[i+len("for flag -"):]
			name, reason, _ := strings.Cut(rest, ": ")
			return &Error{Where: "flag --" + name, Msg: reason}
		}
	}
	return &Error{Msg: msg}
}
