// Passkeys: sign in with one (a button, and the browser's autofill where it
// offers passkeys in the address field), and add one from the account page.
// Every page works without this script; it only adds passkeys.

const b64 = {
  decode(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(s + "===".slice((s.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buf) {
    let bin = "";
    for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

async function post(url, body, signal) {
  const resp = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.error || "The server refused the passkey (" + resp.status + ").");
  return data;
}

function showError(message) {
  const el = document.getElementById("passkey-error");
  if (!el) return;
  el.textContent = message;
  el.hidden = false;
}

// The JSON of a credential, as go-webauthn reads it.
function credentialJSON(cred) {
  const r = cred.response;
  const out = { id: cred.id, rawId: b64.encode(cred.rawId), type: cred.type, response: {},
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {} };
  out.response.clientDataJSON = b64.encode(r.clientDataJSON);
  if (r.attestationObject) {
    out.response.attestationObject = b64.encode(r.attestationObject);
    if (r.getTransports) out.response.transports = r.getTransports();
  } else {
    out.response.authenticatorData = b64.encode(r.authenticatorData);
    out.response.signature = b64.encode(r.signature);
    if (r.userHandle) out.response.userHandle = b64.encode(r.userHandle);
  }
  if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
  return out;
}

// signIn asks the browser for a passkey of this site and signs in with it.
// conditional waits in the background for the reader to pick a passkey in
// the address field's autofill; signal cancels it.
async function signIn(conditional, next, signal) {
  const options = await post("/signin/passkey/begin" + (conditional ? "?conditional=1" : ""), undefined, signal);
  const pk = options.publicKey;
  pk.challenge = b64.decode(pk.challenge);
  for (const c of pk.allowCredentials || []) c.id = b64.decode(c.id);
  const request = { publicKey: pk, mediation: conditional ? "conditional" : "optional" };
  if (signal) request.signal = signal;
  const cred = await navigator.credentials.get(request);
  const done = await post("/signin/passkey/finish?ceremony=" + encodeURIComponent(options.ceremony) +
    "&next=" + encodeURIComponent(next || ""), credentialJSON(cred));
  location.assign(done.redirect);
}

// background is the autofill request waiting, if any. A browser runs one
// request at a time, so the button cancels it and waits for it to end;
// once the button was pressed, no autofill request starts.
let background = null;
let pressed = false;

function signInInBackground(next) {
  const controller = new AbortController();
  background = { controller, done: signIn(true, next, controller.signal).catch(failed) };
}

async function signInNow(next) {
  pressed = true;
  if (background) {
    background.controller.abort();
    await background.done;
    background = null;
  }
  await signIn(false, next);
}

async function add(name) {
  const options = await post("/account/passkeys/begin");
  const pk = options.publicKey;
  pk.challenge = b64.decode(pk.challenge);
  pk.user.id = b64.decode(pk.user.id);
  for (const c of pk.excludeCredentials || []) c.id = b64.decode(c.id);
  const cred = await navigator.credentials.create({ publicKey: pk });
  await post("/account/passkeys/finish?ceremony=" + encodeURIComponent(options.ceremony) +
    "&name=" + encodeURIComponent(name), credentialJSON(cred));
  location.reload();
}

function failed(err) {
  if (err && err.name === "AbortError") return; // the autofill request gave way to the button
  if (err && err.name === "NotAllowedError") {
    showError("The passkey was cancelled or timed out. Try again, or sign in with a code.");
    return;
  }
  showError(err && err.message ? err.message : "The passkey did not work. Sign in with a code instead.");
}

if (window.PublicKeyCredential) {
  const box = document.querySelector(".passkey-signin");
  if (box) {
    box.hidden = false;
    const next = box.dataset.next || "";
    document.getElementById("passkey-signin").addEventListener("click", () => signInNow(next).catch(failed));
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
        if (ok && !background && !pressed) signInInBackground(next);
      });
    }
  }
  const form = document.getElementById("passkey-add");
  if (form) {
    form.hidden = false;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      add(document.getElementById("passkey-name").value).catch(failed);
    });
  }
}
