package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"site/app/auth"
	"site/app/config"
	"site/app/store"
)

// adminCommand is `site admin add EMAIL|+PHONE`: it makes the user known by
// that address an admin (creating the account if new). They sign in with a
// code sent to the address.
func adminCommand(ctx context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) < 2 || args[0] != "add" || strings.HasPrefix(args[1], "-") {
		return &config.Error{Msg: "admin: give the address: site admin add EMAIL|+PHONE [--config site.hcl]"}
	}
	cfg, err := config.Load("admin", args[2:], nil)
	if err != nil {
		return err
	}
	db, err := store.OpenData(ctx, filepath.Join(cfg.DataDir, store.DataFile))
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := (&auth.Auth{Data: db}).GrantAdmin(ctx, args[1])
	if err != nil {
		return &config.Error{Msg: fmt.Sprintf("admin: %v", strings.TrimPrefix(err.Error(), "auth: "))}
	}
	fmt.Fprintf(stdout, "%s is an admin: sign in at /signin with a code sent to that address\n", u.Address)
	return nil
}
