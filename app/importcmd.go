package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"site/app/config"
	"site/app/content"
	"site/app/importer"
)

// importCommand is `site import DIR`: Markdown files with front matter
// into posts, projects and pages, images into the buckets of the object
// store findObjects finds: objects.endpoint, a site serving objects.listen
// on this machine, else the embedded server for the length of the import. DIR is read through an os.Root: symbolic links,
// special files and images outside DIR are refused, listed on stdout as
// "refused PATH: REASON" and counted in the summary; they do not change
// the exit status.
func importCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &config.Error{Msg: "import: give the folder to import: site import DIR [--config site.hcl]"}
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	cfg, err := config.Load("import", args[1:], nil)
	if err != nil {
		return err
	}
	site, err := openSiteData(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer site.close()
	db, objs := site.db, site.objs
	im := &importer.Importer{
		Content: content.NewStore(db), Objects: importer.MinioObjects{Client: objs.Client},
		PrivateBucket: config.BucketPrivate,
		Out:           stdout, Logger: site.logger,
	}
	fmt.Fprintf(stdout, "importing %s into %s (objects at %s)\n", dir, db.Path, objs.Endpoint)
	rep, err := im.Import(ctx, dir)
	fmt.Fprintf(stdout, "import: %s\n", rep)
	if err != nil {
		return fmt.Errorf("%d file(s) not imported:\n%w", rep.Failed, err)
	}
	return nil
}
