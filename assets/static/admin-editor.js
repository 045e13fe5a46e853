// The admin's editor: a live preview beside the text, rendered by the
// server as the public page renders it, and autosave of drafts every ten
// seconds when something changed. The form works without this script
// (Save and Preview are plain submit buttons); it only adds to it.

const form = document.getElementById("editor");
const body = document.getElementById("body");
const pane = document.getElementById("editor-preview");
const out = document.getElementById("preview-body");
const status = document.getElementById("autosave-status");

const PREVIEW_DELAY = 400; // ms after the last keystroke
const AUTOSAVE_EVERY = 10000; // ms

function say(text) {
  if (status) status.textContent = text;
}

function clock(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function post(url, params, signal) {
  return fetch(url, {
    method: "POST",
    body: params,
    credentials: "same-origin",
    signal,
  });
}

// Live preview.
let previewTimer = 0;
let previewAbort = null;

async function preview() {
  if (previewAbort) previewAbort.abort();
  previewAbort = new AbortController();
  try {
    const resp = await post(form.dataset.preview, new URLSearchParams({ body: body.value }), previewAbort.signal);
    if (!resp.ok) throw new Error("preview " + resp.status);
    out.innerHTML = await resp.text();
  } catch (err) {
    if (err.name !== "AbortError") out.textContent = "The preview could not be rendered (" + err.message + ").";
  }
}

// Autosave.
let dirty = false;
let saving = false;
let submitting = false;

async function autosave() {
  const url = form.dataset.autosave;
  if (!url || !dirty || saving || submitting) return;
  if (!form.elements.title.value.trim()) {
    say("Autosave waits for a title.");
    return;
  }
  saving = true;
  dirty = false;
  say("Saving…");
  try {
    const resp = await post(url, new URLSearchParams(new FormData(form)));
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      if (resp.status === 409 && !data.error) delete form.dataset.autosave;
      throw new Error(data.error || "Not saved (" + resp.status + ").");
    }
    if (data.edit) {
      // A new draft exists now: the page becomes its editor.
      history.replaceState(null, "", data.edit);
      form.action = data.edit;
      form.dataset.autosave = data.autosave;
    }
    say("Saved " + clock(data.at));
  } catch (err) {
    dirty = true;
    say(err.message);
  } finally {
    saving = false;
  }
}

if (form && body && pane && out) {
  pane.hidden = false;
  form.querySelector(".editor-body")?.classList.add("live");
  body.addEventListener("input", () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, PREVIEW_DELAY);
  });
  if (!out.innerHTML.trim()) preview();
  form.addEventListener("input", () => {
    dirty = true;
  });
  form.addEventListener("change", () => {
    dirty = true;
  });
  form.addEventListener("submit", () => {
    submitting = true;
  });
  if (form.dataset.autosave) setInterval(autosave, AUTOSAVE_EVERY);
}
