package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"site/app/config"
	"site/app/content"
	"site/app/importer"
	"site/app/store"
	"site/embedded/objects"
)

// importCommand is `site import DIR`: Markdown files with front matter
// into posts, projects and pages, images into the buckets. It talks to the
// object store of a running site when there is one (objects.endpoint, or
// objects.listen on this machine), else starts the embedded one for the
// length of the import. DIR is read through an os.Root: symbolic links,
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
	logger := newLogger(cfg, stderr)
	if err := applyCABundle(cfg, logger); err != nil {
		return err
	}
	if err := fillSecrets(cfg); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	endpoint, stop, err := importEndpoint(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stop()
	client, err := objects.NewClient(endpoint, cfg.Objects.AccessKey, cfg.Objects.SecretKey, cfg.Objects.Region)
	if err != nil {
		return fmt.Errorf("objects client: %w", err)
	}
	db, err := store.OpenData(ctx, filepath.Join(cfg.DataDir, store.DataFile))
	if err != nil {
		return err
	}
	defer db.Close()
	im := &importer.Importer{
		Content: content.NewStore(db), Objects: importer.MinioObjects{Client: client},
		PublicBucket: config.BucketPublic, PrivateBucket: config.BucketPrivate,
		Out: stdout, Logger: logger,
	}
	fmt.Fprintf(stdout, "importing %s into %s (objects at %s)\n", dir, db.Path, endpoint)
	rep, err := im.Import(ctx, dir)
	fmt.Fprintf(stdout, "import: %s\n", rep)
	if err != nil {
		return fmt.Errorf("%d file(s) not imported:\n%w", rep.Failed, err)
	}
	return nil
}

// importEndpoint finds the object store: objects.endpoint when set, else a
// site already serving objects.listen here, else the embedded server on a
// loopback port (stopped by the returned func).
func importEndpoint(ctx context.Context, cfg *config.Config, logger *slog.Logger) (string, func(), error) {
	if cfg.Objects.Endpoint != "" {
		return cfg.Objects.Endpoint, func() {}, nil
	}
	local := "http://" + config.Reachable(cfg.Objects.Listen)
	if c, err := objects.NewClient(local, cfg.Objects.AccessKey, cfg.Objects.SecretKey, cfg.Objects.Region); err == nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ok, err := c.BucketExists(pctx, config.BucketPublic)
		cancel()
		if err == nil && ok {
			return local, func() {}, nil
		}
	}
	srv, err := startLocalObjects(ctx, cfg, logger)
	if err != nil {
		return "", nil, err
	}
	return srv.Endpoint(), func() { srv.Close() }, nil
}
