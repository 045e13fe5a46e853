package auth_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"site/app/auth"
	"site/app/web"
	"site/internal/browsertest"
)

// TestPasskeyInChromium: in a real Chromium with a virtual authenticator,
// a reader signs in with a code, adds a passkey, signs out, and signs in
// again with the passkey alone.
func TestPasskeyInChromium(t *testing.T) {
	ctx := browsertest.Browser(t)
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
	accessible(t, ctx, "the code page")
	err = steps(ctx,
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
	accessible(t, ctx, "the account page")
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("ul.passkeys")))
	if err != nil || !strings.Contains(list, "Test laptop") || !strings.Contains(list, "never used") {
		t.Fatalf("passkey list: %q %v", list, err)
	}
	creds, err := chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams(added))
	if err != nil || len(creds.Credentials) != 1 || !creds.Credentials[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %+v (%v), want one discoverable credential", creds, err)
	}

	// Signed out, the passkey alone signs in: first as the browser offers
	// it in the address field's autofill (the virtual authenticator picks
	// it at once), then, where autofill is not offered, by the button.
	signOut := func() {
		t.Helper()
		if err := steps(ctx,
			chromedp.Submit(chromedp.CSS(`form[action="/account/sessions/end-all"] button`)),
			chromedp.WaitNotPresent(chromedp.CSS("ul.passkeys")),
		); err != nil {
			t.Fatal(err)
		}
	}
	signedIn := func(how string) {
		t.Helper()
		account, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil || !strings.Contains(account, "reader@example.org") || !strings.Contains(account, "last used") {
			t.Fatalf("after the passkey sign-in (%s) the account page says (%v):\n%s", how, err, account)
		}
	}
	signOut()
	if err := steps(ctx, chromedp.Navigate(site+"/signin?next=/account"), chromedp.WaitVisible(chromedp.CSS("ul.passkeys"))); err != nil {
		t.Fatal(err)
	}
	signedIn("autofill")
	signOut()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: "PublicKeyCredential.isConditionalMediationAvailable = undefined;"}); err != nil {
		t.Fatal(err)
	}
	if err := steps(ctx,
		chromedp.Navigate(site+"/signin?next=/account"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-signin")),
	); err != nil {
		t.Fatal(err)
	}
	accessible(t, ctx, "the sign-in page")
	if err := steps(ctx,
		chromedp.Click(chromedp.CSS("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS("ul.passkeys")),
	); err != nil {
		t.Fatal(err)
	}
	signedIn("button")
}

// steps runs actions with a minute at most; when they fail, the error
// says what the page showed in its passkey error box.
func steps(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	stepCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := chromedp.Do(stepCtx, actions...)
	if err == nil {
		return nil
	}
	shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("passkey-error") || {}).textContent || ""`))
	return fmt.Errorf("%w (the page's passkey error: %q)", err, shown)
}

// accessible fails the test on any serious or critical axe-core finding on
// the page the tab shows.
func accessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	found, err := browsertest.Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range found {
		t.Errorf("%s: %s (%s): %s at %v", page, v.ID, v.Impact, v.Description, v.Nodes)
	}
}
