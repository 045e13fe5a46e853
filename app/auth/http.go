package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/a-h/templ"

	"site/app/analytics"
	"site/app/web"
	"site/views"
)

// Web is sign-in's route group on the web shell: the sign-in pages, the
// one-click link, sign-out, and the account page with one's sessions. It
// also tells the shell which requests are signed in (SignedIn) and guards
// other groups' routes (RequireAdmin).
type Web struct {
	// Auth does the work.
	Auth *Auth
	// Shell renders pages and error pages.
	Shell *web.Server
	// Secure marks the cookie Secure and names it with the __Host- prefix;
	// set when the site's base URL is https.
	Secure bool
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (the rule of analytics.ClientIP), for the rate limits.
	TrustedProxies []netip.Prefix
}

// CookieName is the session cookie's name: "__Host-session" over https,
// which browsers accept only Secure, for the host alone, with Path=/.
func (h *Web) CookieName() string {
	if h.Secure {
		return "__Host-session"
	}
	return "session"
}

// maxFormBytes bounds a sign-in form's body.
const maxFormBytes = 4 << 10

// Routes are the group's routes.
func (h *Web) Routes() []web.Route {
	return append([]web.Route{
		{Pattern: "GET /signin", Handler: http.HandlerFunc(h.signInPage)},
		{Pattern: "POST /signin", Handler: http.HandlerFunc(h.requestCode)},
		{Pattern: "POST /signin/code", Handler: http.HandlerFunc(h.verifyCode)},
		{Pattern: "GET /signin/link", Handler: http.HandlerFunc(h.linkPage)},
		{Pattern: "POST /signin/link", Handler: http.HandlerFunc(h.verifyLink)},
		{Pattern: "POST /signout", Handler: http.HandlerFunc(h.signOut)},
		{Pattern: "GET /account", Handler: h.RequireUser(http.HandlerFunc(h.account))},
		{Pattern: "POST /account/sessions/end", Handler: h.RequireUser(http.HandlerFunc(h.endSession))},
		{Pattern: "POST /account/sessions/end-all", Handler: h.RequireUser(http.HandlerFunc(h.endAll))},
		{Pattern: "POST /account/passkeys/begin", Handler: h.RequireUser(http.HandlerFunc(h.beginAddPasskey))},
		{Pattern: "POST /account/passkeys/finish", Handler: h.RequireUser(http.HandlerFunc(h.finishAddPasskey))},
		{Pattern: "POST /account/passkeys/remove", Handler: h.RequireUser(http.HandlerFunc(h.removePasskey))},
		{Pattern: "POST /signin/passkey/begin", Handler: http.HandlerFunc(h.beginPasskeySignIn)},
		{Pattern: "POST /signin/passkey/finish", Handler: http.HandlerFunc(h.finishPasskeySignIn)},
	}, h.setupRoutes()...)
}

type ctxKey struct{}

// current is the request's session, read once per request.
type current struct {
	session Session
	token   string
	err     error
}

// session returns the request's live session, or ErrNoSession.
func (h *Web) session(r *http.Request) (Session, string, error) {
	if c, ok := r.Context().Value(ctxKey{}).(*current); ok {
		return c.session, c.token, c.err
	}
	c, err := r.Cookie(h.CookieName())
	if err != nil {
		return Session{}, "", ErrNoSession
	}
	s, err := h.Auth.Session(r.Context(), c.Value)
	return s, c.Value, err
}

// withSession keeps the session looked up for r in its context.
func (h *Web) withSession(r *http.Request) *http.Request {
	s, token, err := h.session(r)
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, &current{s, token, err}))
}

// UserOf returns the signed-in user of a request that passed a guard.
func UserOf(r *http.Request) (User, bool) {
	c, ok := r.Context().Value(ctxKey{}).(*current)
	if !ok || c.err != nil {
		return User{}, false
	}
	return c.session.User, true
}

// User returns the signed-in user of any request, guarded or not (a
// public page that shows more to a signed-in reader); false when it carries
// no live session.
func (h *Web) User(r *http.Request) (User, bool) {
	if _, err := r.Cookie(h.CookieName()); err != nil {
		return User{}, false
	}
	s, _, err := h.session(r)
	return s.User, err == nil
}

// SignedIn reports whether the request carries a live session; the shell
// neither caches nor counts such requests (web.Server.SignedIn).
func (h *Web) SignedIn(r *http.Request) bool {
	if _, err := r.Cookie(h.CookieName()); err != nil {
		return false
	}
	_, _, err := h.session(r)
	return err == nil
}

// RequireUser lets signed-in users through; anyone else is sent to sign
// in (a GET, and then back) or refused (403).
func (h *Web) RequireUser(next http.Handler) http.Handler { return h.require(false, next) }

// RequireAdmin lets admins through; a reader gets 403, anyone else is
// sent to sign in (a GET) or refused (403).
func (h *Web) RequireAdmin(next http.Handler) http.Handler { return h.require(true, next) }

func (h *Web) require(admin bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = h.withSession(r)
		s, _, err := h.session(r)
		switch {
		case errors.Is(err, ErrNoSession) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, "/signin?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
		case err != nil && !errors.Is(err, ErrNoSession):
			h.Shell.ServerError(w, r, err)
		case err != nil || admin && !s.User.IsAdmin():
			h.forbidden(w, r)
		default:
			w.Header().Set("Cache-Control", "private, no-store")
			next.ServeHTTP(w, r)
		}
	})
}

func (h *Web) forbidden(w http.ResponseWriter, r *http.Request) {
	p := h.Shell.PageMeta(r, "Not allowed")
	h.Shell.SendHTML(w, r, http.StatusForbidden, views.Error(p, http.StatusForbidden,
		"Your account may not open this page. Sign in with another account, or go back."))
}

// clientIP is the client's address for the rate limits.
func (h *Web) clientIP(r *http.Request) string {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	return analytics.ClientIP(peer, r.Header.Get("X-Forwarded-For"), h.TrustedProxies).String()
}

// form parses a sign-in form, bounded to maxFormBytes (web.ParseForm).
func (h *Web) form(w http.ResponseWriter, r *http.Request) bool {
	return web.ParseForm(w, r, maxFormBytes, "")
}

// nextPath is where to go once signed in: a clean same-site path, or "".
// It is its own clean form: the sign-in page carries it to the next form,
// which reads it again, so an address that escaping makes longer than the
// bound is none (not one the next form drops).
func nextPath(v string) string {
	if len(v) > 512 || !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, "\\\t\r\n ") {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "" || u.Host != "" || path.Clean(u.Path) != u.Path {
		return ""
	}
	if out := u.RequestURI(); len(out) <= 512 {
		return out
	}
	return ""
}

func (h *Web) signInPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "Sign in", views.SignIn, views.SignInForm{Next: nextPath(r.URL.Query().Get("next"))})
}

func (h *Web) render(w http.ResponseWriter, r *http.Request, code int, title string,
	page func(views.Page, views.SignInForm) templ.Component, f views.SignInForm) {
	f.Minutes = int(h.Auth.codeTTL().Minutes())
	p := h.Shell.PageMeta(r, title)
	p.Scripts = append(p.Scripts, "passkey.js")
	h.Shell.SendHTML(w, r, code, page(p, f))
}

func (h *Web) requestCode(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	f := views.SignInForm{Address: r.PostForm.Get("address"), Next: nextPath(r.PostForm.Get("next"))}
	switch err := h.Auth.RequestCode(r.Context(), f.Address, h.clientIP(r)); {
	case errors.Is(err, ErrBadAddress):
		f.Error = "That is not an email address or a phone number. A phone number starts with + and its country code."
		h.render(w, r, http.StatusBadRequest, "Sign in", views.SignIn, f)
	case errors.Is(err, ErrRateLimited):
		f.Error = "Too many codes asked for. Wait a few minutes, then try again."
		w.Header().Set("Retry-After", "900")
		h.render(w, r, http.StatusTooManyRequests, "Sign in", views.SignIn, f)
	case err != nil:
		h.Shell.ServerError(w, r, err)
	default:
		f.Address = strings.TrimSpace(f.Address)
		h.render(w, r, http.StatusOK, "Enter your code", views.SignInCode, f)
	}
}

func (h *Web) verifyCode(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	f := views.SignInForm{Address: r.PostForm.Get("address"), Next: nextPath(r.PostForm.Get("next"))}
	u, err := h.Auth.VerifyCode(r.Context(), f.Address, r.PostForm.Get("code"), h.clientIP(r))
	switch {
	case errors.Is(err, ErrBadCode):
		f.Error = "That code is not right, or it expired or was used. Check it, or ask for a new one."
		h.render(w, r, http.StatusUnauthorized, "Enter your code", views.SignInCode, f)
	case errors.Is(err, ErrRateLimited):
		f.Error = "Too many tries. Wait a few minutes, then try again."
		w.Header().Set("Retry-After", "900")
		h.render(w, r, http.StatusTooManyRequests, "Enter your code", views.SignInCode, f)
	case err != nil:
		h.Shell.ServerError(w, r, err)
	default:
		h.signIn(w, r, u, f.Next)
	}
}

func (h *Web) linkPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	errText := ""
	if token == "" {
		errText = "This sign-in link is incomplete."
	}
	p := h.Shell.PageMeta(r, "Sign in")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in this page's URL
	h.Shell.SendHTML(w, r, http.StatusOK, views.SignInLink(p, token, nextPath(r.URL.Query().Get("next")), errText))
}

func (h *Web) verifyLink(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	u, err := h.Auth.VerifyLink(r.Context(), r.PostForm.Get("token"), h.clientIP(r))
	switch {
	case errors.Is(err, ErrBadCode), errors.Is(err, ErrRateLimited):
		p := h.Shell.PageMeta(r, "Sign in")
		h.Shell.SendHTML(w, r, http.StatusUnauthorized, views.SignInLink(p, "", "",
			"This sign-in link does not work any more: it was used, or it expired. Ask for a new code."))
	case err != nil:
		h.Shell.ServerError(w, r, err)
	default:
		h.signIn(w, r, u, nextPath(r.PostForm.Get("next")))
	}
}

// signIn opens a session for u, sets its cookie and sends the browser on:
// to next, or to the admin panel for an admin and the home page for a
// reader.
func (h *Web) signIn(w http.ResponseWriter, r *http.Request, u User, next string) {
	token, err := h.Auth.NewSession(r.Context(), u, r.UserAgent(), h.clientIP(r))
	if err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	h.setSession(w, token)
	http.Redirect(w, r, h.landing(u, next), http.StatusSeeOther)
}

// setSession sets the session cookie.
func (h *Web) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: h.CookieName(), Value: token, Path: "/", HttpOnly: true, Secure: h.Secure,
		SameSite: http.SameSiteLaxMode, Expires: time.Now().Add(h.Auth.sessionMax())})
}

// landing is where a user goes once signed in: next, else the admin panel
// for an admin and the home page for a reader.
func (h *Web) landing(u User, next string) string {
	switch {
	case next != "":
		return next
	case u.IsAdmin():
		return "/admin"
	}
	return "/"
}

func (h *Web) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.CookieName(), Value: "", Path: "/", HttpOnly: true, Secure: h.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

func (h *Web) signOut(w http.ResponseWriter, r *http.Request) {
	if s, _, err := h.session(r); err == nil {
		if err := h.Auth.EndSession(r.Context(), s.User.ID, s.ID); err != nil {
			h.Shell.ServerError(w, r, err)
			return
		}
	}
	h.clearCookie(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Web) account(w http.ResponseWriter, r *http.Request) {
	s, _, _ := h.session(r)
	list, err := h.Auth.Sessions(r.Context(), s.User.ID)
	if err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	rows := make([]views.SessionRow, len(list))
	for i, x := range list {
		rows[i] = views.SessionRow{ID: x.ID, Device: x.UserAgent, IP: x.IP, Since: x.CreatedAt, LastSeen: x.LastSeen, Current: x.ID == s.ID}
	}
	keys, err := h.Auth.Passkeys(r.Context(), s.User.ID)
	if err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	keyRows := make([]views.PasskeyRow, len(keys))
	for i, k := range keys {
		keyRows[i] = views.PasskeyRow{ID: k.ID, Name: k.Name, Added: k.CreatedAt, LastUsed: k.LastUsed}
	}
	p := h.Shell.PageMeta(r, "Your account")
	p.Scripts = append(p.Scripts, "passkey.js")
	h.Shell.SendHTML(w, r, http.StatusOK, views.Account(p, s.User.Address, keyRows, rows))
}

func (h *Web) endSession(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	s, _, _ := h.session(r)
	if err := h.Auth.EndSession(r.Context(), s.User.ID, r.PostForm.Get("id")); err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	if r.PostForm.Get("id") == s.ID {
		h.clearCookie(w)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (h *Web) endAll(w http.ResponseWriter, r *http.Request) {
	s, _, _ := h.session(r)
	if err := h.Auth.EndSessions(r.Context(), s.User.ID); err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	h.clearCookie(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// WithUser returns r carrying u as its signed-in user, as a guard leaves
// it; for code that acts for a user outside a request's guard (tests,
// commands).
func WithUser(r *http.Request, u User) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, &current{session: Session{User: u}}))
}
