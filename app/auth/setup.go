package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"site/app/web"
	"site/views"
)

// SetupLinkTTL is how long a first-start setup link works.
const SetupLinkTTL = time.Hour

// SetupLink returns a link that makes its user the first admin, valid for
// SetupLinkTTL, while the site has no admin; "" once it has one.
func (a *Auth) SetupLink(ctx context.Context) (string, error) {
	if err := a.check(); err != nil {
		return "", err
	}
	if n, err := a.Admins(ctx); err != nil || n > 0 {
		return "", err
	}
	token := rand.Text() + rand.Text()
	if _, err := a.TTL.Write.ExecContext(ctx, `INSERT INTO setup_links (id_hash, expires_at) VALUES (?, ?)`,
		a.hash("setup", token), a.now().Add(SetupLinkTTL).Unix()); err != nil {
		return "", fmt.Errorf("auth: setup link: %w", err)
	}
	return a.SiteURL + "/setup?" + url.Values{"token": {token}}.Encode(), nil
}

// ClaimSetup makes u the first admin with a setup link's token. The token
// works once, within its hour, and only while no one is admin yet.
func (a *Auth) ClaimSetup(ctx context.Context, token string, u User) (User, error) {
	if len(token) > 64 {
		return User{}, ErrBadCode
	}
	var expires int64
	err := a.TTL.Write.QueryRowContext(ctx, `DELETE FROM setup_links WHERE id_hash = ? RETURNING expires_at`,
		a.hash("setup", token)).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires <= a.now().Unix() {
		return User{}, ErrBadCode
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: claim setup link: %w", err)
	}
	if n, err := a.Admins(ctx); err != nil || n > 0 {
		return User{}, errors.Join(ErrBadCode, err)
	}
	return a.GrantAdmin(ctx, u.Address)
}

func (h *Web) setupRoutes() []web.Route {
	return []web.Route{
		{Pattern: "GET /setup", Handler: h.RequireUser(http.HandlerFunc(h.setupPage))},
		{Pattern: "POST /setup", Handler: h.RequireUser(http.HandlerFunc(h.claimSetup))},
	}
}

func (h *Web) setupPage(w http.ResponseWriter, r *http.Request) {
	u, _ := UserOf(r)
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in this page's URL
	h.Shell.SendHTML(w, r, http.StatusOK, views.Setup(h.Shell.PageMeta(r, "Set up the site"), u.Address, r.URL.Query().Get("token"), ""))
}

func (h *Web) claimSetup(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	u, _ := UserOf(r)
	_, err := h.Auth.ClaimSetup(r.Context(), r.PostForm.Get("token"), u)
	switch {
	case errors.Is(err, ErrBadCode):
		h.Shell.SendHTML(w, r, http.StatusUnauthorized, views.Setup(h.Shell.PageMeta(r, "Set up the site"), u.Address, "",
			"This setup link does not work: it was used, it expired (after an hour), or the site has an admin already. "+
				"Restart the site for a new link, or run: site admin add ADDRESS"))
	case err != nil:
		h.Shell.ServerError(w, r, err)
	default:
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	}
}
