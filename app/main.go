// Command site is the self-hosted website appliance: one binary whose roles
// (objects, nats, web, worker, cron) run together in one process or apart in
// several, chosen by --roles.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `site — a self-hosted personal website in one binary.

Usage:
  site [serve] [--config site.hcl] [--roles=objects,nats,web,worker,cron] [flags]
  site restore [--from backup|offsite/daily|offsite/1-week|offsite/2-week] [--at TIME] [--force] [--config site.hcl]
  site backup run daily|weekly|biweekly [--config site.hcl]
  site backup verify daily|1-week|2-week [--config site.hcl]
  site backup status [--config site.hcl]
  site import DIR [--config site.hcl]
  site import-comments FILE [--config site.hcl]
  site export DIR [--force] [--config site.hcl]
  site admin add EMAIL|+PHONE [--config site.hcl]
  site health URL
  site version

serve flags override the site.hcl settings of the same name:
  --data-dir DIR  --roles LIST  --log_level LEVEL  --log_format text|json  --web.listen ADDR  --web.base_url URL
  --nats.listen ADDR  --nats.url URL  --objects.listen ADDR  --objects.endpoint URL  --ops.listen ADDR

import reads Markdown files with YAML or TOML front matter (Hugo / Jekyll
style) under DIR into posts, projects and pages, with the images beside
them; running it again updates entries instead of duplicating them.
export writes the whole site into DIR as such a folder (originals included);
DIR must be empty unless --force.
import-comments reads a Disqus export or a WordPress export (WXR) into the
comments of the posts its threads were about (matched by path or slug);
running it again adds nothing.

restore brings data.db back from its Litestream replica in the backup bucket:
  --from SRC  backup (default): data.db from the backup bucket; offsite/TIER:
              the public, private and backup buckets and data.db from that
              offsite tier, into an empty data dir
  --at TIME   the state as of TIME (RFC 3339, "2006-01-02 15:04:05" UTC, or a
              duration ago such as 15m); default: the latest
  --force     replace an existing data.db (and, with offsite, make non-empty
              buckets equal to the tier)

backup copies the buckets offsite (site.hcl offsite and cron blocks): run one
tier now (daily: buckets -> daily/, weekly: daily/ -> 1-week/, biweekly:
1-week/ -> 2-week/), verify a tier by restoring it into a scratch dir, or
show the last runs and verifies.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		m := NewMain(stdout, stderr)
		if err = m.ParseFlags(args); err == nil {
			err = m.Run(ctx)
		}
	case "restore":
		err = restoreCommand(ctx, args, stdout, stderr)
	case "backup":
		err = backupCommand(ctx, args, stdout, stderr)
	case "admin":
		err = adminCommand(ctx, args, stdout, stderr)
	case "import":
		err = importCommand(ctx, args, stdout, stderr)
	case "export":
		err = exportCommand(ctx, args, stdout, stderr)
	case "import-comments":
		err = importCommentsCommand(ctx, args, stdout, stderr)
	case "health":
		err = healthCommand(ctx, args)
	case "version":
		fmt.Fprintln(stdout, "site", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("unknown command %q (commands: serve, restore, backup, import, import-comments, export, admin, health, version)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "site:", err)
		return 1
	}
	return 0
}
