package composecheck_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// moduleDir is the top of the module, where compose.yaml and the Dockerfile live.
const moduleDir = "../.."

// image is the one image every service runs.
const image = "site:latest"

// allRoles are the roles of the binary, in the order of --roles in the design.
var allRoles = []string{"objects", "nats", "web", "worker", "cron"}

// roleServices maps each default (profile-less) service to the one role it runs.
var roleServices = map[string]string{
	"objects": "objects",
	"nats":    "nats",
	"cron":    "cron",
	"web":     "web",
	"worker":  "worker",
}

// dependsOn is what each default service must wait for, healthy, before it starts.
var dependsOn = map[string][]string{
	"objects": nil,
	"nats":    nil,
	"cron":    {"nats", "objects"},
	"web":     {"nats", "objects"},
	"worker":  {"nats", "objects"},
}

// testEnv stands in for the operator's environment or .env file.
var testEnv = map[string]string{
	"SITE_NATS_TOKEN":    "test-nats-token",
	"SITE_S3_ACCESS_KEY": "test-access-key",
	"SITE_S3_SECRET_KEY": "test-secret-key",
}

// loadProject loads compose.yaml as `docker compose` would with env as its
// environment (never the test process's own, nor a .env file) and profiles active.
func loadProject(t *testing.T, env map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	dir, err := filepath.Abs(moduleDir)
	if err != nil {
		t.Fatal(err)
	}
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(envList),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	return opts.LoadProject(context.Background())
}

// mustLoadProject is loadProject with testEnv, failing the test on error.
func mustLoadProject(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	p, err := loadProject(t, testEnv, profiles...)
	if err != nil {
		t.Fatalf("load compose.yaml (profiles %q): %v", profiles, err)
	}
	return p
}

// flagValues returns the values of --name=VALUE and --name VALUE in args.
func flagValues(args []string, name string) []string {
	var vals []string
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			vals = append(vals, v)
		} else if a == "--"+name && i+1 < len(args) {
			vals = append(vals, args[i+1])
		}
	}
	return vals
}

// flagValue returns the single value of flag name in args, failing the test
// when it is missing or given more than once.
func flagValue(t *testing.T, service string, args []string, name string) string {
	t.Helper()
	vals := flagValues(args, name)
	if len(vals) != 1 {
		t.Errorf("service %s: command %q has --%s %d times, want once", service, args, name, len(vals))
		return ""
	}
	return vals[0]
}

// roles parses the --roles flag of a service's command.
func roles(t *testing.T, name string, svc types.ServiceConfig) []string {
	t.Helper()
	v := flagValue(t, name, svc.Command, "roles")
	if v == "" {
		return nil
	}
	rs := strings.Split(v, ",")
	for i := range rs {
		rs[i] = strings.TrimSpace(rs[i])
	}
	return rs
}

// dataVolume returns the source of the named volume mounted at /data.
func dataVolume(t *testing.T, name string, svc types.ServiceConfig) string {
	t.Helper()
	var sources []string
	for _, v := range svc.Volumes {
		if v.Target != "/data" {
			continue
		}
		if v.Type != types.VolumeTypeVolume {
			t.Errorf("service %s: /data is a %s mount of %q, want a named volume", name, v.Type, v.Source)
		}
		if v.ReadOnly {
			t.Errorf("service %s: /data is mounted read-only", name)
		}
		sources = append(sources, v.Source)
	}
	if len(sources) != 1 {
		t.Errorf("service %s: %d mounts at /data, want exactly one named volume", name, len(sources))
		return ""
	}
	return sources[0]
}

// healthURLPort matches the port of the URL a `site health` check asks.
var healthURLPort = regexp.MustCompile(`^http://127\.0\.0\.1:(\d+)/(healthz|readyz)$`)

// checkHealth asserts that a service has a health check that runs
// `/site health URL` in exec form (the image has no shell) on wantPort.
func checkHealth(t *testing.T, name string, svc types.ServiceConfig, wantPort string) {
	t.Helper()
	hc := svc.HealthCheck
	if hc == nil || len(hc.Test) == 0 {
		t.Errorf("service %s: no healthcheck test", name)
		return
	}
	if hc.Disable || hc.Test[0] == "NONE" {
		t.Errorf("service %s: healthcheck is disabled", name)
		return
	}
	if hc.Test[0] != "CMD" {
		t.Errorf("service %s: healthcheck test %q must use the exec form [\"CMD\", ...]: the runtime image has no shell", name, hc.Test)
		return
	}
	if len(hc.Test) != 4 || hc.Test[1] != "/site" || hc.Test[2] != "health" {
		t.Errorf("service %s: healthcheck test %q, want [\"CMD\", \"/site\", \"health\", URL]", name, hc.Test)
		return
	}
	m := healthURLPort.FindStringSubmatch(hc.Test[3])
	if m == nil {
		t.Errorf("service %s: healthcheck URL %q, want http://127.0.0.1:PORT/readyz or /healthz", name, hc.Test[3])
		return
	}
	if m[1] != wantPort {
		t.Errorf("service %s: healthcheck asks port %s, but the service listens for health on port %s", name, m[1], wantPort)
	}
}

// listenPort returns the port of an address like ":9100" or "0.0.0.0:9100".
func listenPort(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i+1:]
	}
	return addr
}

// TestComposeDefaultServices checks the five services `docker compose up` starts.
func TestComposeDefaultServices(t *testing.T) {
	p := mustLoadProject(t)

	var names []string
	for name := range p.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	var want []string
	for name := range roleServices {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("services started without a profile: %q, want exactly %q", names, want)
	}

	covered := map[string]string{}
	var volume string
	for _, name := range names {
		svc := p.Services[name]
		t.Run(name, func(t *testing.T) {
			if svc.Image != image {
				t.Errorf("service %s: image %q, want %q (one image for all services)", name, svc.Image, image)
			}
			if len(svc.Command) == 0 || svc.Command[0] != "serve" {
				t.Errorf("service %s: command %q, want it to start with \"serve\"", name, svc.Command)
			}

			rs := roles(t, name, svc)
			if len(rs) != 1 {
				t.Errorf("service %s: runs roles %q, want exactly one", name, rs)
			} else {
				if rs[0] != roleServices[name] {
					t.Errorf("service %s: runs role %q, want %q", name, rs[0], roleServices[name])
				}
				if other, ok := covered[rs[0]]; ok {
					t.Errorf("role %s: run by both %s and %s", rs[0], other, name)
				}
				covered[rs[0]] = name
			}

			if dd := flagValue(t, name, svc.Command, "data-dir"); dd != "/data" {
				t.Errorf("service %s: --data-dir=%q, want /data", name, dd)
			}
			src := dataVolume(t, name, svc)
			if src != "" {
				if volume == "" {
					volume = src
				} else if src != volume {
					t.Errorf("service %s: mounts volume %q at /data, others mount %q; all five must share one", name, src, volume)
				}
				if _, ok := p.Volumes[src]; !ok {
					t.Errorf("service %s: volume %q is not declared under top-level volumes", name, src)
				}
			}

			if svc.Restart != types.RestartPolicyUnlessStopped {
				t.Errorf("service %s: restart %q, want %q", name, svc.Restart, types.RestartPolicyUnlessStopped)
			}

			// Every service serves /metrics on ops.listen (the site's own
			// listener does not). Health: web on web.listen (the listener
			// readers use), the others on ops.listen.
			opsPort := listenPort(flagValue(t, name, svc.Command, "ops.listen"))
			healthPort := opsPort
			if name == "web" {
				healthPort = "8080"
				if vals := flagValues(svc.Command, "web.listen"); len(vals) > 0 {
					healthPort = listenPort(vals[len(vals)-1])
				}
				if opsPort == healthPort {
					t.Errorf("service web: --ops.listen shares port %s with --web.listen", opsPort)
				}
			}
			checkHealth(t, name, svc, healthPort)

			checkDependsOn(t, name, svc)
			checkAddresses(t, name, svc)
		})
	}

	for _, r := range allRoles {
		if _, ok := covered[r]; !ok {
			t.Errorf("role %s: run by no default service", r)
		}
	}

	web := p.Services["web"]
	if !publishes(web, 8080) {
		t.Errorf("service web: does not publish container port 8080 (ports %+v)", web.Ports)
	}
}

// checkDependsOn asserts that a service waits, healthy, for exactly what it needs.
func checkDependsOn(t *testing.T, name string, svc types.ServiceConfig) {
	t.Helper()
	var got []string
	for dep, cfg := range svc.DependsOn {
		got = append(got, dep)
		if cfg.Condition != types.ServiceConditionHealthy {
			t.Errorf("service %s: depends_on %s with condition %q, want %q", name, dep, cfg.Condition, types.ServiceConditionHealthy)
		}
	}
	slices.Sort(got)
	if want := dependsOn[name]; !slices.Equal(got, want) {
		t.Errorf("service %s: depends_on %q, want %q", name, got, want)
	}
}

// checkAddresses asserts the listen and connect flags that tie the roles
// together and that the secrets of each port reach its server and clients.
func checkAddresses(t *testing.T, name string, svc types.ServiceConfig) {
	t.Helper()
	args := svc.Command
	switch name {
	case "objects":
		if v := flagValue(t, name, args, "objects.listen"); listenPort(v) != "9000" {
			t.Errorf("service objects: --objects.listen=%q, want port 9000", v)
		}
	case "nats":
		if v := flagValue(t, name, args, "nats.listen"); listenPort(v) != "4222" {
			t.Errorf("service nats: --nats.listen=%q, want port 4222", v)
		}
	default:
		if v := flagValue(t, name, args, "nats.url"); v != "nats://nats:4222" {
			t.Errorf("service %s: --nats.url=%q, want nats://nats:4222", name, v)
		}
		if v := flagValue(t, name, args, "objects.endpoint"); v != "http://objects:9000" {
			t.Errorf("service %s: --objects.endpoint=%q, want http://objects:9000", name, v)
		}
	}
	// Who needs which secret: the NATS token for the server and its clients,
	// the S3 keys for the server and its clients.
	var want []string
	if name != "objects" {
		want = append(want, "SITE_NATS_TOKEN")
	}
	if name != "nats" {
		want = append(want, "SITE_S3_ACCESS_KEY", "SITE_S3_SECRET_KEY")
	}
	for _, k := range want {
		if v := svc.Environment[k]; v == nil || *v != testEnv[k] {
			t.Errorf("service %s: environment %s is not passed from the operator's environment", name, k)
		}
	}
}

// publishes reports whether svc publishes container port target on the host.
func publishes(svc types.ServiceConfig, target uint32) bool {
	for _, p := range svc.Ports {
		if p.Target == target && p.Published != "" {
			return true
		}
	}
	return false
}

// TestComposeAllProfile checks the all-in-one service of the profile `all`.
func TestComposeAllProfile(t *testing.T) {
	def := mustLoadProject(t)
	if len(def.DisabledServices) == 0 {
		t.Fatalf("no service is kept for a profile; want the all-in-one service in profile \"all\"")
	}

	p := mustLoadProject(t, "all")
	var all []string
	for name, svc := range p.Services {
		if slices.Contains(svc.Profiles, "all") {
			all = append(all, name)
		}
	}
	if len(all) != 1 {
		t.Fatalf("services in profile \"all\": %q, want exactly one", all)
	}
	name := all[0]
	svc := p.Services[name]
	if _, ok := def.Services[name]; ok {
		t.Errorf("service %s: started without --profile all, want it only with the profile", name)
	}
	if svc.Image != image {
		t.Errorf("service %s: image %q, want %q", name, svc.Image, image)
	}
	rs := roles(t, name, svc)
	got := slices.Clone(rs)
	slices.Sort(got)
	want := slices.Clone(allRoles)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("service %s: runs roles %q, want all of %q", name, rs, allRoles)
	}
	if len(svc.DependsOn) != 0 {
		t.Errorf("service %s: depends_on %v; the all-in-one service needs no other service", name, svc.DependsOn)
	}
	checkHealth(t, name, svc, "8080")
	if listenPort(flagValue(t, name, svc.Command, "ops.listen")) == "8080" {
		t.Errorf("service %s: --ops.listen shares port 8080 with the site", name)
	}
	if !publishes(svc, 8080) {
		t.Errorf("service %s: does not publish container port 8080 (ports %+v)", name, svc.Ports)
	}
	// `--profile all up` also starts the five default services: the two layouts
	// must never share one data directory (two NATS stores, two Litestreams).
	src := dataVolume(t, name, svc)
	for other, o := range p.Services {
		if other == name {
			continue
		}
		for _, v := range o.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source == src {
				t.Errorf("service %s: shares volume %q with service %s; the all-in-one layout needs its own data volume", name, src, other)
			}
		}
	}
}

// TestComposeBuildsOneImage checks that the image is built from this module,
// whichever layout is started.
func TestComposeBuildsOneImage(t *testing.T) {
	for _, profiles := range [][]string{nil, {"all"}} {
		p := mustLoadProject(t, profiles...)
		builders := 0
		for name, svc := range p.Services {
			if svc.Build == nil {
				continue
			}
			builders++
			dir, _ := filepath.Abs(moduleDir)
			if filepath.Clean(svc.Build.Context) != dir {
				t.Errorf("service %s: build context %q, want the module directory %q", name, svc.Build.Context, dir)
			}
			if svc.Image != image {
				t.Errorf("service %s: builds image %q, want %q", name, svc.Image, image)
			}
		}
		if builders == 0 {
			t.Errorf("profiles %q: no service has a build section, so `docker compose up` cannot build %s", profiles, image)
		}
	}
}

// TestComposeSecretsOptional checks that compose.yaml loads with none of the
// secrets set: empty means generated into the shared data dir on first start.
func TestComposeSecretsOptional(t *testing.T) {
	for _, profiles := range [][]string{nil, {"all"}} {
		if _, err := loadProject(t, map[string]string{}, profiles...); err != nil {
			t.Errorf("compose.yaml (profiles %q) does not load without SITE_* variables: %v", profiles, err)
		}
	}
}

// TestDockerfile makes simple text checks of the Dockerfile.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	lines := instructions(string(b))

	var froms, users []string
	var healthcheck, entrypoint string
	cgoOff := false
	for _, l := range lines {
		kw, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(kw) {
		case "FROM":
			froms = append(froms, rest)
			users = nil // USER applies to the stage it is in
		case "USER":
			users = append(users, rest)
		case "HEALTHCHECK":
			healthcheck = rest
		case "ENTRYPOINT":
			entrypoint = rest
		case "RUN", "ENV", "ARG":
			if regexp.MustCompile(`(^|\s)CGO_ENABLED=0(\s|$)`).MatchString(rest) {
				cgoOff = true
			}
		}
	}
	if len(froms) < 2 {
		t.Errorf("Dockerfile: %d FROM lines, want a multi-stage build", len(froms))
	}
	if !cgoOff {
		t.Errorf("Dockerfile: no CGO_ENABLED=0 for the build; the runtime image has no libc")
	}
	if healthcheck == "" || strings.HasPrefix(strings.ToUpper(healthcheck), "NONE") {
		t.Errorf("Dockerfile: no HEALTHCHECK")
	} else if !strings.Contains(healthcheck, "/site") || !strings.Contains(healthcheck, "health") {
		t.Errorf("Dockerfile: HEALTHCHECK %q does not run `/site health URL`", healthcheck)
	}
	if !strings.Contains(entrypoint, `"/site"`) {
		t.Errorf("Dockerfile: ENTRYPOINT %q, want [\"/site\"]", entrypoint)
	}

	// Non-root: the last USER of the final stage, else a :nonroot base.
	if len(froms) > 0 {
		final := froms[len(froms)-1]
		switch {
		case len(users) > 0:
			u := users[len(users)-1]
			name, _, _ := strings.Cut(u, ":")
			if name == "root" || name == "0" {
				t.Errorf("Dockerfile: final stage runs as USER %q, want a non-root user", u)
			}
		case strings.Contains(final, ":nonroot"):
		default:
			t.Errorf("Dockerfile: final stage %q has no USER and is not a :nonroot base; it would run as root", final)
		}
	}
}

// instructions returns the Dockerfile's instructions, one per element, with
// comments dropped and backslash continuations joined.
func instructions(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
