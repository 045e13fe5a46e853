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

async function post(url, body) {
  const resp = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
    credentials: "same-origin",
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

// pending is the autofill (conditional) request waiting in the background;
// the button aborts it, since a browser runs one request at a time.
let pending = null;

async function signIn(conditional, next) {
  if (pending) pending.abort();
  pending = conditional ? new AbortController() : null;
  const options = await post("/signin/passkey/begin" + (conditional ? "?conditional=1" : ""));
  const pk = options.publicKey;
  pk.challenge = b64.decode(pk.challenge);
  for (const c of pk.allowCredentials || []) c.id = b64.decode(c.id);
  const request = { publicKey: pk, mediation: conditional ? "conditional" : "optional" };
  if (pending) request.signal = pending.signal;
  const cred = await navigator.credentials.get(request);
  const done = await post("/signin/passkey/finish?next=" + encodeURIComponent(next || ""), credentialJSON(cred));
  location.assign(done.redirect);
}

async function add(name) {
  const options = await post("/account/passkeys/begin");
  const pk = options.publicKey;
  pk.challenge = b64.decode(pk.challenge);
  pk.user.id = b64.decode(pk.user.id);
  for (const c of pk.excludeCredentials || []) c.id = b64.decode(c.id);
  const cred = await navigator.credentials.create({ publicKey: pk });
  await post("/account/passkeys/finish?name=" + encodeURIComponent(name), credentialJSON(cred));
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
    document.getElementById("passkey-signin").addEventListener("click", () => signIn(false, next).catch(failed));
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
        if (ok) signIn(true, next).catch(failed);
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
