package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// checkSecurityTxt checks that s has the two fields RFC 9116 requires: a
// Contact line and one Expires line with an RFC 3339 date. An Expires date
// in the past is allowed here (the file still names a contact, and a
// config must not stop working on a date); keeping it current is the
// owner's job.
func checkSecurityTxt(s string) error {
	contact, expires := false, 0
	for line := range strings.Lines(s) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		switch strings.ToLower(name) {
		case "contact":
			contact = true
		case "expires":
			expires++
			if _, err := time.Parse(time.RFC3339, strings.TrimSpace(value)); err != nil {
				return fmt.Errorf("the Expires date %q is not an RFC 3339 date such as \"2030-01-01T00:00:00Z\"", strings.TrimSpace(value))
			}
		}
	}
	switch {
	case !contact:
		return errors.New(`needs a "Contact:" line (RFC 9116), e.g. "Contact: mailto:security@example.org"`)
	case expires == 0:
		return errors.New(`needs an "Expires:" line (RFC 9116), e.g. "Expires: 2030-01-01T00:00:00Z"`)
	case expires > 1:
		return errors.New(`has more than one "Expires:" line`)
	}
	return nil
}
