package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"site/app/config"
	"site/app/content"
	"site/app/export"
)

// exportCommand is `site export DIR`: the whole site (every entry with its
// front matter, the originals of its images beside it) written into DIR as
// a folder that `site import` reads back. data.db is read where the site
// keeps it, the originals from the object store findObjects finds, so it
// runs beside a serving site. A DIR with anything in it is refused unless
// --force, which replaces files of the same name and leaves the others.
// Each file is written under a temporary name and renamed into place.
func exportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &config.Error{Msg: "export: give the folder to write: site export DIR [--force] [--config site.hcl]"}
	}
	// Absolute now: an embedded object server changes the working directory.
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	var force bool
	cfg, err := config.Load("export", args[1:], func(fs *flag.FlagSet) {
		fs.BoolVar(&force, "force", false, "write into a folder that is not empty")
	})
	if err != nil {
		return err
	}
	out, err := export.OpenDir(dir, force)
	if err != nil {
		return err
	}
	defer out.Close()
	site, err := openSiteData(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer site.close()
	db, objs := site.db, site.objs
	ex := &export.Exporter{
		Content: content.NewStore(db), Objects: export.MinioObjects{Client: objs.Client},
		PrivateBucket: config.BucketPrivate, Out: stdout, Logger: site.logger,
	}
	fmt.Fprintf(stdout, "exporting %s (objects at %s) into %s\n", db.Path, objs.Endpoint, dir)
	rep, err := ex.Export(ctx, out)
	fmt.Fprintf(stdout, "export: %s\n", rep)
	if err != nil {
		return err
	}
	return out.Close()
}
