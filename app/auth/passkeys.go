package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Passkey is a WebAuthn credential a user added, as their list shows it.
type Passkey struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	LastUsed  time.Time // zero until first used
}

// ErrBadPasskey: the passkey ceremony failed (cancelled, expired, or a
// credential this site does not know).
var ErrBadPasskey = errors.New("auth: the passkey was not accepted; try again, or sign in with a code")

// ceremonyTTL bounds the time between a ceremony's two steps.
const ceremonyTTL = 5 * time.Minute

// maxPasskeyName bounds a passkey's name.
const maxPasskeyName = 60

// webauthnUser adapts a User and their credentials to go-webauthn.
type webauthnUser struct {
	u     User
	creds []webauthn.Credential
}

func (w webauthnUser) WebAuthnID() []byte   { return userHandle(w.u.ID) }
func (w webauthnUser) WebAuthnName() string { return w.u.Address }
func (w webauthnUser) WebAuthnDisplayName() string {
	return cmp.Or(w.u.DisplayName, w.u.Address)
}
func (w webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// userHandle is the user's WebAuthn id: the user id, 8 bytes (no address
// or name leaves in it).
func userHandle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

// ErrNoRelyingParty: the site's URL cannot name a WebAuthn relying party
// (an IP address, or no URL), so passkeys are unavailable.
var ErrNoRelyingParty = errors.New("auth: passkeys need the site's URL (web.base_url) with a domain name or localhost")

// relyingParty is go-webauthn configured for the site's URL: its host is
// the relying party id (a domain name or localhost: WebAuthn refuses IP
// addresses) and its origin the one origin accepted.
func (a *Auth) relyingParty() (*webauthn.WebAuthn, error) {
	u, err := url.Parse(a.SiteURL)
	if err != nil || u.Host == "" || net.ParseIP(u.Hostname()) != nil {
		return nil, fmt.Errorf("%w, not %q", ErrNoRelyingParty, a.SiteURL)
	}
	return webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: cmp.Or(a.SiteName, u.Hostname()),
		RPOrigins: []string{u.Scheme + "://" + u.Host}})
}

// credentials loads the user's WebAuthn credentials.
func (a *Auth) credentials(ctx context.Context, userID int64) ([]webauthn.Credential, error) {
	rows, err := a.Data.Read.QueryContext(ctx, `SELECT credential FROM passkeys WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: read passkeys: %w", err)
	}
	defer rows.Close()
	var out []webauthn.Credential
	for rows.Next() {
		var text string
		var c webauthn.Credential
		if err := rows.Scan(&text); err != nil {
			return nil, fmt.Errorf("auth: read passkeys: %w", err)
		}
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			return nil, fmt.Errorf("auth: decode passkey: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Passkeys lists the user's passkeys, oldest first.
func (a *Auth) Passkeys(ctx context.Context, userID int64) ([]Passkey, error) {
	rows, err := a.Data.Read.QueryContext(ctx, `SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: list passkeys: %w", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		var p Passkey
		var created, used int64
		if err := rows.Scan(&p.ID, &p.Name, &created, &used); err != nil {
			return nil, fmt.Errorf("auth: list passkeys: %w", err)
		}
		p.CreatedAt = time.Unix(created, 0)
		if used > 0 {
			p.LastUsed = time.Unix(used, 0)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RemovePasskey deletes the user's passkey id; another user's id removes
// nothing.
func (a *Auth) RemovePasskey(ctx context.Context, userID, id int64) error {
	if _, err := a.Data.Write.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID); err != nil {
		return fmt.Errorf("auth: remove passkey: %w", err)
	}
	return nil
}

// saveCeremony keeps a ceremony's session data and returns the id the
// browser holds until the second step.
func (a *Auth) saveCeremony(ctx context.Context, userID int64, s *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("auth: passkey ceremony: %w", err)
	}
	id := rand.Text()
	if _, err := a.TTL.Write.ExecContext(ctx, `INSERT INTO webauthn_ceremonies (id_hash, user_id, data, expires_at) VALUES (?, ?, ?, ?)`,
		a.hash("ceremony", id), userID, string(data), a.now().Add(ceremonyTTL).Unix()); err != nil {
		return "", fmt.Errorf("auth: passkey ceremony: %w", err)
	}
	return id, nil
}

// takeCeremony returns and deletes (single use) the ceremony id opened for
// userID (0 for a sign-in).
func (a *Auth) takeCeremony(ctx context.Context, id string, userID int64) (webauthn.SessionData, error) {
	var data string
	var expires int64
	err := a.TTL.Write.QueryRowContext(ctx, `DELETE FROM webauthn_ceremonies WHERE id_hash = ? AND user_id = ? RETURNING data, expires_at`,
		a.hash("ceremony", id), userID).Scan(&data, &expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires <= a.now().Unix() {
		return webauthn.SessionData{}, ErrBadPasskey
	}
	if err != nil {
		return webauthn.SessionData{}, fmt.Errorf("auth: passkey ceremony: %w", err)
	}
	var s webauthn.SessionData
	if err := json.Unmarshal([]byte(data), &s); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("auth: passkey ceremony: %w", err)
	}
	return s, nil
}

// BeginAddPasskey starts adding a passkey for user: the options for
// navigator.credentials.create (a discoverable credential, none of the
// user's existing ones) and the ceremony's id.
func (a *Auth) BeginAddPasskey(ctx context.Context, u User) (*protocol.CredentialCreation, string, error) {
	rp, err := a.relyingParty()
	if err != nil {
		return nil, "", err
	}
	creds, err := a.credentials(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	creation, s, err := rp.BeginRegistration(webauthnUser{u, creds},
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(webauthn.Credentials(creds).CredentialDescriptors()))
	if err != nil {
		return nil, "", fmt.Errorf("auth: begin passkey: %w", err)
	}
	id, err := a.saveCeremony(ctx, u.ID, s)
	return creation, id, err
}

// FinishAddPasskey checks the browser's answer (r's body) to the ceremony
// id and stores the passkey under name.
func (a *Auth) FinishAddPasskey(ctx context.Context, u User, ceremony, name string, r *http.Request) (Passkey, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if utf8.RuneCountInString(name) > maxPasskeyName {
		name = string([]rune(name)[:maxPasskeyName])
	}
	s, err := a.takeCeremony(ctx, ceremony, u.ID)
	if err != nil {
		return Passkey{}, err
	}
	rp, err := a.relyingParty()
	if err != nil {
		return Passkey{}, err
	}
	creds, err := a.credentials(ctx, u.ID)
	if err != nil {
		return Passkey{}, err
	}
	cred, err := rp.FinishRegistration(webauthnUser{u, creds}, s, r)
	if err != nil {
		return Passkey{}, errors.Join(ErrBadPasskey, err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return Passkey{}, fmt.Errorf("auth: store passkey: %w", err)
	}
	now := a.now()
	res, err := a.Data.Write.ExecContext(ctx, `INSERT INTO passkeys (user_id, credential_id, name, credential, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, base64.RawURLEncoding.EncodeToString(cred.ID), name, string(data), now.Unix())
	if err != nil {
		return Passkey{}, fmt.Errorf("auth: store passkey: %w", err)
	}
	id, _ := res.LastInsertId()
	return Passkey{ID: id, Name: name, CreatedAt: now}, nil
}

// BeginPasskeySignIn starts a sign-in with any passkey of this site the
// browser holds (a discoverable credential; conditional asks the browser
// to offer them in the address field's autofill), for a client at ip.
func (a *Auth) BeginPasskeySignIn(ctx context.Context, conditional bool, ip string) (*protocol.CredentialAssertion, string, error) {
	if err := a.allowAll(ctx, limit{"verify-client:" + ip, verifiesPerClient}); err != nil {
		return nil, "", err
	}
	rp, err := a.relyingParty()
	if err != nil {
		return nil, "", err
	}
	mediation := protocol.MediationDefault
	if conditional {
		mediation = protocol.MediationConditional
	}
	assertion, s, err := rp.BeginDiscoverableMediatedLogin(mediation)
	if err != nil {
		return nil, "", fmt.Errorf("auth: begin passkey sign-in: %w", err)
	}
	id, err := a.saveCeremony(ctx, 0, s)
	return assertion, id, err
}

// FinishPasskeySignIn checks the browser's answer (r's body) to the
// ceremony id and returns the user whose passkey it is; the passkey's sign
// count and last use are updated.
func (a *Auth) FinishPasskeySignIn(ctx context.Context, ceremony string, r *http.Request) (User, error) {
	s, err := a.takeCeremony(ctx, ceremony, 0)
	if err != nil {
		return User{}, err
	}
	rp, err := a.relyingParty()
	if err != nil {
		return User{}, err
	}
	var found User
	handler := func(rawID, handle []byte) (webauthn.User, error) {
		if len(handle) != 8 {
			return nil, ErrBadPasskey
		}
		u, err := a.UserByID(ctx, int64(binary.BigEndian.Uint64(handle)))
		if err != nil {
			return nil, ErrBadPasskey
		}
		creds, err := a.credentials(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		found = u
		return webauthnUser{u, creds}, nil
	}
	cred, err := rp.FinishDiscoverableLogin(handler, s, r)
	if err != nil {
		return User{}, errors.Join(ErrBadPasskey, err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return User{}, fmt.Errorf("auth: update passkey: %w", err)
	}
	if _, err := a.Data.Write.ExecContext(ctx, `UPDATE passkeys SET credential = ?, last_used_at = ? WHERE credential_id = ? AND user_id = ?`,
		string(data), a.now().Unix(), base64.RawURLEncoding.EncodeToString(cred.ID), found.ID); err != nil {
		return User{}, fmt.Errorf("auth: update passkey: %w", err)
	}
	return found, nil
}
