package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"

	"site/app/jobs"
)

// codeDigits is the length of a one-time code.
const codeDigits = 6

// RequestCode sends a one-time code, and for an email a one-click sign-in
// link, to address, for a client at ip. The answer is the same whether
// the address belongs to a user or not (a first verification makes a
// reader); it differs only for a malformed address or past a rate limit.
// A new request replaces the address's earlier code.
func (a *Auth) RequestCode(ctx context.Context, address, ip string) error {
	if err := a.check(); err != nil {
		return err
	}
	addr, phone, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	if err := a.allowAll(ctx, limit{"code-address:" + addr, codesPerAddress}, limit{"code-client:" + ip, codesPerClient}); err != nil {
		return err
	}
	code, err := randomCode()
	if err != nil {
		return err
	}
	token := rand.Text() + rand.Text() // 2 × 130 bits, base32
	expires := a.now().Add(a.codeTTL())
	codeHash := a.hash("code", addr, code)
	if _, err := a.TTL.Write.ExecContext(ctx, `INSERT INTO one_time_codes (address, code_hash, link_hash, attempts, expires_at)
		VALUES (?, ?, ?, 0, ?) ON CONFLICT (address) DO UPDATE SET code_hash = excluded.code_hash,
		link_hash = excluded.link_hash, attempts = 0, expires_at = excluded.expires_at`,
		addr, codeHash, a.hash("link", token), expires.Unix()); err != nil {
		return fmt.Errorf("auth: store code: %w", err)
	}
	minutes := int(a.codeTTL().Minutes())
	msg := jobs.NotifyJob{Text: fmt.Sprintf("%s is your sign-in code for %s. It expires in %d minutes.", code, a.SiteName, minutes)}
	if phone {
		msg.Phone = addr
	} else {
		link := a.SiteURL + "/signin/link?" + url.Values{"token": {token}}.Encode()
		msg.Email = addr
		msg.Subject = fmt.Sprintf("Your sign-in code for %s: %s", a.SiteName, code)
		msg.Text = fmt.Sprintf("Your sign-in code for %s is\n\n    %s\n\nor sign in with one click:\n\n    %s\n\n"+
			"The code and the link work once, for %d minutes. If you did not ask to sign in, ignore this message.\n",
			a.SiteName, code, link, minutes)
	}
	if a.Send == nil {
		return errors.New("auth: no sender for codes")
	}
	if err := a.Send(ctx, msg, "otp-"+codeHash); err != nil {
		return fmt.Errorf("auth: send code: %w", err)
	}
	return nil
}

// randomCode is codeDigits decimal digits, uniform.
func randomCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("auth: random code: %w", err)
	}
	return fmt.Sprintf("%0*d", codeDigits, n.Int64()), nil
}

// VerifyCode checks the code sent to address, from a client at ip, and
// returns the user it signs in (a new reader on a first verification).
// A code works once, until it expires, and for MaxAttempts tries: the
// try after the last wrong one fails even with the right code.
func (a *Auth) VerifyCode(ctx context.Context, address, code, ip string) (User, error) {
	if err := a.check(); err != nil {
		return User{}, err
	}
	addr, _, err := NormalizeAddress(address)
	if err != nil {
		return User{}, ErrBadCode
	}
	if err := a.allowAll(ctx, limit{"verify-client:" + ip, verifiesPerClient}); err != nil {
		return User{}, err
	}
	code = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1 // spaces and dashes people type
	}, code)
	ok, err := a.consumeCode(ctx, addr, code)
	if err != nil || !ok {
		return User{}, errors.Join(ErrBadCode, err)
	}
	return a.userFor(ctx, addr)
}

// consumeCode compares code with addr's stored hash in constant time, in
// one write transaction: a match deletes the row (single use), a miss
// counts an attempt and deletes the row at the last one (locked).
func (a *Auth) consumeCode(ctx context.Context, addr, code string) (bool, error) {
	tx, err := a.TTL.Write.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("auth: verify: %w", err)
	}
	defer tx.Rollback()
	var stored string
	var attempts int
	var expires int64
	err = tx.QueryRowContext(ctx, `SELECT code_hash, attempts, expires_at FROM one_time_codes WHERE address = ?`, addr).
		Scan(&stored, &attempts, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: verify: %w", err)
	}
	match := hmac.Equal([]byte(a.hash("code", addr, code)), []byte(stored))
	switch {
	case expires <= a.now().Unix() || match || attempts+1 >= a.maxAttempts():
		_, err = tx.ExecContext(ctx, `DELETE FROM one_time_codes WHERE address = ?`, addr)
	default:
		_, err = tx.ExecContext(ctx, `UPDATE one_time_codes SET attempts = attempts + 1 WHERE address = ?`, addr)
	}
	if err != nil {
		return false, fmt.Errorf("auth: verify: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("auth: verify: %w", err)
	}
	return match && expires > a.now().Unix(), nil
}

// VerifyLink checks a sign-in link's token, from a client at ip, and
// returns the user it signs in. Like a code it works once, until it
// expires; using it also ends the code sent with it.
func (a *Auth) VerifyLink(ctx context.Context, token, ip string) (User, error) {
	if err := a.check(); err != nil {
		return User{}, err
	}
	if err := a.allowAll(ctx, limit{"verify-client:" + ip, verifiesPerClient}); err != nil {
		return User{}, err
	}
	if len(token) < 40 || len(token) > 64 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		return User{}, ErrBadCode
	}
	var addr string
	var expires int64
	err := a.TTL.Write.QueryRowContext(ctx, `DELETE FROM one_time_codes WHERE link_hash = ? RETURNING address, expires_at`,
		a.hash("link", token)).Scan(&addr, &expires)
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires <= a.now().Unix() {
		return User{}, ErrBadCode
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: verify link: %w", err)
	}
	return a.userFor(ctx, addr)
}

// encodeToken is the text form of random session ids.
var encodeToken = base64.RawURLEncoding.EncodeToString
