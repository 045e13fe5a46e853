package auth

import (
	"net/mail"
	"strings"
)

// NormalizeAddress returns the address a user is known by: an email
// address trimmed and lower-cased, or a phone number as "+" and 8 to 15
// digits (E.164) with spaces, dashes, dots and brackets removed. phone
// reports which it is. Anything else is ErrBadAddress.
func NormalizeAddress(s string) (addr string, phone bool, err error) {
	s = strings.TrimSpace(s)
	if len(s) > 254 || s == "" {
		return "", false, ErrBadAddress
	}
	if strings.HasPrefix(s, "+") {
		var b strings.Builder
		b.WriteByte('+')
		for _, c := range s[1:] {
			switch {
			case c >= '0' && c <= '9':
				b.WriteRune(c)
			case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
			default:
				return "", false, ErrBadAddress
			}
		}
		if n := b.Len() - 1; n < 8 || n > 15 || b.String()[1] == '0' {
			return "", false, ErrBadAddress
		}
		return b.String(), true, nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", false, ErrBadAddress
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(s, " \t\r\n<>\"") {
		return "", false, ErrBadAddress
	}
	return strings.ToLower(s), false, nil
}
