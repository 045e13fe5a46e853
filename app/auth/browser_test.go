package auth_test

import (
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"site/app/auth"
	"site/app/web"
	"site/internal/testkit"
)

// TestPasskeyInChromium: in a real Chromium with a virtual authenticator,
// a reader signs in with a code, adds a passkey, signs out, and signs in
// again with the passkey alone.
func TestPasskeyInChromium(t *testing.T) {
	ctx := testkit.Browser(t)
	a, out, _ := testAuth(t)
	a.Now = nil
	shell := web.NewServer()
	shell.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &auth.Web{Auth: a, Shell: shell}
	shell.Groups = []web.Group{h}
	shell.SignedIn = h.SignedIn
	ts := httptest.NewUnstartedServer(shell.Handler())
	ts.Start()
	t.Cleanup(ts.Close)
	// WebAuthn wants a domain, not an IP address: localhost is one.
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	site := "http://localhost:" + port
	a.SiteURL = site

	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	added, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Transport: cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(site+"/signin?next=/account"),
		chromedp.SendKeys(chromedp.CSS("#address"), "reader@example.org"),
		chromedp.Submit(chromedp.CSS("#address")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#code"), codeOf(t, out.last(t))),
		chromedp.Submit(chromedp.CSS("#code")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-name")),
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Test laptop"),
		chromedp.Click(chromedp.CSS("#passkey-add button")),
		chromedp.WaitVisible(chromedp.CSS("ul.passkeys")),
	)
	if err != nil {
		t.Fatal(err)
	}
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("ul.passkeys")))
	if err != nil || !strings.Contains(list, "Test laptop") || !strings.Contains(list, "never used") {
		t.Fatalf("passkey list: %q %v", list, err)
	}
	creds, err := chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: added.AuthenticatorID})
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %+v (%v), want one discoverable credential", creds, err)
	}

	// Sign out everywhere; then the passkey alone signs in.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/account/sessions/end-all"] button`)),
		chromedp.WaitVisible(chromedp.CSS("header.site")),
		chromedp.Navigate(site+"/signin?next=/account"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-signin")),
		chromedp.Click(chromedp.CSS("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS("ul.passkeys")),
	)
	if err != nil {
		t.Fatal(err)
	}
	account, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(account, "reader@example.org") || !strings.Contains(account, "last used") {
		t.Fatalf("after the passkey sign-in the account page says (%v):\n%s", err, account)
	}
}
