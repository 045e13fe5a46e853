package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// maxCredentialBytes bounds a passkey ceremony's JSON answer.
const maxCredentialBytes = 64 << 10

// ceremonyAnswer is a ceremony's first step as the page gets it: the
// options for the browser and the id the page sends back with the answer
// (?ceremony=). The id needs no cookie: it is random, single use, bound to
// the user adding a passkey, and worthless without the authenticator's
// signature over its challenge.
type ceremonyAnswer struct {
	Ceremony  string `json:"ceremony"`
	PublicKey any    `json:"publicKey"`
}

// ceremonyID is the ceremony id the page sent back.
func ceremonyID(r *http.Request) string {
	if id := r.URL.Query().Get("ceremony"); len(id) <= 64 {
		return id
	}
	return ""
}

// sendJSON answers a passkey step; an error is {"error": text}.
func sendJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Web) jsonError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		sendJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "The passkey's answer is too large."})
	case errors.Is(err, ErrNoRelyingParty):
		sendJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "Passkeys need the site to be reached by a domain name (web.base_url); sign in with a code."})
	case errors.Is(err, ErrRateLimited):
		w.Header().Set("Retry-After", "900")
		sendJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Too many tries. Wait a few minutes, then try again."})
	case errors.Is(err, ErrBadPasskey):
		sendJSON(w, http.StatusUnauthorized, map[string]string{"error": ErrBadPasskey.Error()[len("auth: "):]})
	default:
		h.Shell.Logger.Error("passkey", "path", r.URL.Path, "err", err)
		sendJSON(w, http.StatusInternalServerError, map[string]string{"error": "Something went wrong on our side; try again later."})
	}
}

// readAnswer reads a ceremony's answer, at most maxCredentialBytes, for
// go-webauthn to parse from r.Body; false when it was answered (413).
func (h *Web) readAnswer(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCredentialBytes))
	if err != nil {
		h.jsonError(w, r, err)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

func (h *Web) beginAddPasskey(w http.ResponseWriter, r *http.Request) {
	u, _ := UserOf(r)
	creation, id, err := h.Auth.BeginAddPasskey(r.Context(), u)
	if err != nil {
		h.jsonError(w, r, err)
		return
	}
	sendJSON(w, http.StatusOK, ceremonyAnswer{id, creation.Response})
}

func (h *Web) finishAddPasskey(w http.ResponseWriter, r *http.Request) {
	if !h.readAnswer(w, r) {
		return
	}
	u, _ := UserOf(r)
	k, err := h.Auth.FinishAddPasskey(r.Context(), u, ceremonyID(r), r.URL.Query().Get("name"), r)
	if err != nil {
		h.jsonError(w, r, err)
		return
	}
	sendJSON(w, http.StatusOK, map[string]any{"id": k.ID, "name": k.Name})
}

func (h *Web) removePasskey(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r) {
		return
	}
	u, _ := UserOf(r)
	id, err := strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
	if err != nil {
		http.Error(w, "No such passkey.", http.StatusBadRequest)
		return
	}
	if err := h.Auth.RemovePasskey(r.Context(), u.ID, id); err != nil {
		h.Shell.ServerError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (h *Web) beginPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	assertion, id, err := h.Auth.BeginPasskeySignIn(r.Context(), r.URL.Query().Get("conditional") == "1", h.clientIP(r))
	if err != nil {
		h.jsonError(w, r, err)
		return
	}
	sendJSON(w, http.StatusOK, ceremonyAnswer{id, assertion.Response})
}

func (h *Web) finishPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	if !h.readAnswer(w, r) {
		return
	}
	u, err := h.Auth.FinishPasskeySignIn(r.Context(), ceremonyID(r), r)
	if err != nil {
		h.jsonError(w, r, err)
		return
	}
	token, err := h.Auth.NewSession(r.Context(), u, r.UserAgent(), h.clientIP(r))
	if err != nil {
		h.jsonError(w, r, err)
		return
	}
	h.setSession(w, token)
	sendJSON(w, http.StatusOK, map[string]string{"redirect": h.landing(u, nextPath(r.URL.Query().Get("next")))})
}
