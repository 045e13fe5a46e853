package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Places records where each setting was last set: "site.hcl:12" or
// "flag --web.listen". Validation messages use it to point at the cause.
type Places map[string]string

// Where returns the place key was set, or "" when it holds its default.
func (p Places) Where(key string) string { return p[key] }

// setting is one attribute of site.hcl and how to store it.
type setting struct {
	key  string // e.g. "web.listen"
	kind string // string, list, duration, int
	str  *string
	list *[]string
	dur  *time.Duration
	num  *int
	flag *bool
}

// settings lists every attribute site.hcl accepts, by block ("" = top level).
func (c *Config) settings() map[string][]setting {
	s := func(key string, p *string) setting { return setting{key: key, kind: "string", str: p} }
	m := c.workerSettings()
	for k, v := range map[string][]setting{
		"": {
			s("data_dir", &c.DataDir),
			{key: "roles", kind: "list", list: &c.Roles},
			s("log_level", &c.LogLevel),
			s("log_format", &c.LogFormat),
		},
		"web": {
			s("web.listen", &c.Web.Listen), s("web.base_url", &c.Web.BaseURL),
			s("web.security_txt", &c.Web.SecurityTxt),
			{key: "web.session_idle", kind: "duration", dur: &c.Web.SessionIdle},
			{key: "web.session_max", kind: "duration", dur: &c.Web.SessionMax},
		},
		"live": {
			{key: "live.max_streams", kind: "int", num: &c.Live.MaxStreams},
			{key: "live.max_per_ip", kind: "int", num: &c.Live.MaxPerIP},
		},
		"nats": {
			s("nats.listen", &c.NATS.Listen), s("nats.url", &c.NATS.URL), s("nats.token", &c.NATS.Token),
		},
		"objects": {
			s("objects.listen", &c.Objects.Listen), s("objects.endpoint", &c.Objects.Endpoint),
			s("objects.region", &c.Objects.Region), s("objects.access_key", &c.Objects.AccessKey),
			s("objects.secret_key", &c.Objects.SecretKey), s("objects.public_url", &c.Objects.PublicURL),
		},
		"site": {
			s("site.name", &c.Site.Name), s("site.description", &c.Site.Description),
			s("site.author", &c.Site.Author), s("site.language", &c.Site.Language),
		},
		"replica": {
			s("replica.bucket", &c.Replica.Bucket), s("replica.path", &c.Replica.Path),
			{key: "replica.sync_interval", kind: "duration", dur: &c.Replica.SyncInterval},
			{key: "replica.check_interval", kind: "duration", dur: &c.Replica.CheckInterval},
			{key: "replica.wal_alert_bytes", kind: "int", num: &c.Replica.WALAlertBytes},
		},
		"worker": {
			{key: "worker.concurrency", kind: "int", num: &c.Worker.Concurrency},
			{key: "worker.batch_size", kind: "int", num: &c.Worker.BatchSize},
		},
		"ops": {s("ops.listen", &c.Ops.Listen)},
		"offsite": {
			s("offsite.endpoint", &c.Offsite.Endpoint), s("offsite.region", &c.Offsite.Region),
			s("offsite.bucket", &c.Offsite.Bucket), s("offsite.prefix", &c.Offsite.Prefix),
			s("offsite.access_key", &c.Offsite.AccessKey), s("offsite.secret_key", &c.Offsite.SecretKey),
		},
		"cron": {
			s("cron.timezone", &c.Cron.Timezone), s("cron.ttl_cleanup", &c.Cron.TTLCleanup),
			s("cron.daily", &c.Cron.Daily), s("cron.weekly", &c.Cron.Weekly),
			s("cron.biweekly", &c.Cron.Biweekly), s("cron.verify", &c.Cron.Verify),
		},
		"comments": c.commentsSettings(),
	} {
		m[k] = v
	}
	return m
}

// envFunc is env("NAME"): the variable's value, or "" when it is unset.
var envFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "name", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(os.Getenv(args[0].AsString())), nil
	},
})

// LoadFile reads site.hcl at path onto c and records where each setting came
// from. Errors name the file and line.
func (c *Config) LoadFile(path string, places Places) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return &Error{Where: path, Msg: fmt.Sprintf("cannot read config: %v", errors.Unwrap(err))}
	}
	name := filepath.Base(path)
	file, diags := hclparse.NewParser().ParseHCL(src, path)
	if diags.HasErrors() {
		return diagError(diags)
	}
	groups := c.settings()
	top := schemaFor(groups[""])
	for block := range groups {
		if block != "" {
			top.Blocks = append(top.Blocks, hcl.BlockHeaderSchema{Type: block})
		}
	}
	content, diags := file.Body.Content(top)
	if diags.HasErrors() {
		return diagError(diags)
	}
	ctx := &hcl.EvalContext{Functions: map[string]function.Function{"env": envFunc}}
	if err := apply(content, groups[""], ctx, name, places); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, b := range content.Blocks {
		if seen[b.Type] {
			return &Error{Where: at(name, b.DefRange), Msg: fmt.Sprintf("block %q given twice", b.Type)}
		}
		seen[b.Type] = true
		inner, diags := b.Body.Content(schemaFor(groups[b.Type]))
		if diags.HasErrors() {
			return diagError(diags)
		}
		if err := apply(inner, groups[b.Type], ctx, name, places); err != nil {
			return err
		}
	}
	c.Source = path
	return nil
}

func schemaFor(list []setting) *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, st := range list {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: attrName(st.key)})
	}
	return s
}

func attrName(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '.' {
			return key[i+1:]
		}
	}
	return key
}

func apply(content *hcl.BodyContent, list []setting, ctx *hcl.EvalContext, name string, places Places) error {
	for _, st := range list {
		attr, ok := content.Attributes[attrName(st.key)]
		if !ok {
			continue
		}
		where := at(name, attr.Range)
		val, diags := attr.Expr.Value(ctx)
		if diags.HasErrors() {
			return diagError(diags)
		}
		if err := st.setValue(val); err != nil {
			return &Error{Where: where, Msg: st.key + ": " + err.Error()}
		}
		places[st.key] = where
	}
	return nil
}

func (st setting) setValue(v cty.Value) error {
	if v.IsNull() || !v.IsKnown() {
		return errors.New("must have a value")
	}
	switch st.kind {
	case "string", "duration":
		if v.Type() != cty.String {
			return fmt.Errorf("must be a string, not %s", v.Type().FriendlyName())
		}
		if st.kind == "string" {
			*st.str = v.AsString()
			return nil
		}
		return st.setDuration(v.AsString())
	case "bool":
		if v.Type() != cty.Bool {
			return fmt.Errorf("must be true or false, not %s", v.Type().FriendlyName())
		}
		*st.flag = v.True()
	case "int":
		if v.Type() != cty.Number {
			return fmt.Errorf("must be a whole number, not %s", v.Type().FriendlyName())
		}
		n, acc := v.AsBigFloat().Int64()
		if acc != 0 || n != int64(int(n)) {
			return errors.New("must be a whole number")
		}
		*st.num = int(n)
	case "list":
		if !v.Type().IsTupleType() && !v.Type().IsListType() {
			return fmt.Errorf("must be a list of strings such as [\"web\", \"worker\"], not %s", v.Type().FriendlyName())
		}
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() || e.Type() != cty.String {
				return errors.New("must be a list of strings")
			}
			out = append(out, e.AsString())
		}
		*st.list = out
	}
	return nil
}

func (st setting) setDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"1s\" or \"500ms\"", s)
	}
	*st.dur = d
	return nil
}

func at(name string, r hcl.Range) string { return fmt.Sprintf("%s:%d", name, r.Start.Line) }

// diagError turns the first HCL diagnostic into a one-line error.
func diagError(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		where := ""
		if d.Subject != nil {
			where = at(filepath.Base(d.Subject.Filename), *d.Subject)
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		return &Error{Where: where, Msg: msg}
	}
	return diags
}
