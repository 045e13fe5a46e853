package comments_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"site/app/comments"
)

func TestSignedLinks(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := &comments.Signer{Key: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return now }}
	q := s.Sign(comments.ActionApprove, 42)
	l, err := s.Verify(q)
	if err != nil || l.Action != comments.ActionApprove || l.ID != 42 || !l.Expires.Equal(now.Add(comments.ModerationLinkTTL)) {
		t.Fatalf("Verify(Sign) = %+v, %v", l, err)
	}
	full := s.URL("https://example.org", comments.ActionUnsubscribe, 7)
	if !strings.HasPrefix(full, "https://example.org"+comments.UnsubscribePath+"?") {
		t.Errorf("unsubscribe URL %s", full)
	}
	u, _ := url.Parse(full)
	if l, err := s.Verify(u.Query()); err != nil || !l.Expires.Equal(now.Add(comments.UnsubscribeLinkTTL)) {
		t.Errorf("unsubscribe link: %+v, %v", l, err)
	}

	tampered := map[string]func(url.Values){
		"another action": func(v url.Values) { v.Set("a", comments.ActionDelete) },
		"another id":     func(v url.Values) { v.Set("id", "43") },
		"later expiry":   func(v url.Values) { v.Set("exp", "9999999999") },
		"id with zero":   func(v url.Values) { v.Set("id", "042") },
		"changed sig": func(v url.Values) {
			sig := []byte(v.Get("sig"))
			sig[3] ^= 1
			v.Set("sig", string(sig))
		},
		"cut sig":        func(v url.Values) { v.Set("sig", v.Get("sig")[:20]) },
		"no sig":         func(v url.Values) { v.Del("sig") },
		"unknown action": func(v url.Values) { v.Set("a", "publish") },
		"no id":          func(v url.Values) { v.Del("id") },
	}
	for name, change := range tampered {
		v := s.Sign(comments.ActionApprove, 42)
		change(v)
		if _, err := s.Verify(v); !errors.Is(err, comments.ErrLinkTampered) {
			t.Errorf("%s: %v, want ErrLinkTampered", name, err)
		}
	}
	other := &comments.Signer{Key: []byte("another key of thirty-two bytes!"), Now: s.Now}
	if _, err := other.Verify(q); !errors.Is(err, comments.ErrLinkTampered) {
		t.Errorf("another site's key: %v", err)
	}

	now = now.Add(comments.ModerationLinkTTL)
	if _, err := s.Verify(q); !errors.Is(err, comments.ErrLinkExpired) {
		t.Errorf("at expiry: %v, want ErrLinkExpired", err)
	}
}
