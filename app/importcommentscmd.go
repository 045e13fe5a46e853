package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"site/app/comments"
	"site/app/comments/importer"
	"site/app/config"
	"site/app/content"
	"site/app/store"
)

// importCommentsEvery is how many comments pass between two progress lines.
const importCommentsEvery = 1000

// importCommentsCommand is `site import-comments FILE`: the comments of a
// Disqus export (XML) or a WordPress export (WXR) into data.db, each thread
// matched to an entry of the site by its link's path or its slug. Only
// data.db is opened (where the site keeps it), so it runs beside a serving
// site; pages with new comments refresh as on any change. Threads not
// matched are listed with what was tried and do not change the exit
// status; a malformed file stops the import before anything is stored,
// naming the line.
func importCommentsCommand(ctx context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &config.Error{Msg: "import-comments: give the export file: site import-comments FILE [--config site.hcl] (a Disqus export or a WordPress WXR file)"}
	}
	file, err := filepath.Abs(args[0])
	if err != nil {
		return fmt.Errorf("import-comments: %w", err)
	}
	cfg, err := config.Load("import-comments", args[1:], nil)
	if err != nil {
		return err
	}
	db, err := store.OpenData(ctx, filepath.Join(cfg.DataDir, store.DataFile))
	if err != nil {
		return err
	}
	defer db.Close()
	im := &importer.Importer{Comments: comments.NewStore(db), Content: content.NewStore(db), Out: stdout, Every: importCommentsEvery}
	fmt.Fprintf(stdout, "importing comments from %s into %s\n", file, db.Path)
	rep, err := im.Import(ctx, file)
	if err != nil {
		if rep.Added > 0 || rep.Existing > 0 {
			fmt.Fprintf(stdout, "import-comments (stopped): %s\n", rep)
		}
		return fmt.Errorf("import-comments: %w", err)
	}
	for _, u := range rep.Unmatched {
		where := u.Link
		if u.Line > 0 {
			where = fmt.Sprintf("%s, line %d", cmp.Or(u.Link, "no link"), u.Line)
		}
		fmt.Fprintf(stdout, "unmatched thread %q (%s): %d comment(s) not imported: %s\n", u.Title, where, u.Comments, u.Reason)
	}
	fmt.Fprintf(stdout, "import-comments: %s\n", rep)
	return nil
}
