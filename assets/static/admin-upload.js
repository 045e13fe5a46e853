// Media uploads in the admin panel: drop files on the form or choose
// several, each is sent on its own request with a progress bar, and every
// image still waiting for its variants is polled until its thumbnail
// exists. The form works without this script (one plain multipart POST).

const form = document.getElementById("media-upload");
const input = document.getElementById("media-files");
const list = form ? form.querySelector(".upload-list") : null;
const parallel = 2; // files sent at once

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// upload sends one file with the form's alt text; row shows its progress.
function upload(file, row) {
  return new Promise((resolve) => {
    const bar = row.querySelector("progress");
    const note = row.querySelector(".upload-note");
    const data = new FormData();
    data.append("alt", form.elements.alt.value);
    data.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
      }
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = {};
      }
      const res = (body.files && body.files[0]) || {};
      const error = res.error || body.error;
      if (error || xhr.status >= 400) {
        bar.remove();
        note.textContent = "Refused: " + (error || "the server answered " + xhr.status + ".");
        row.classList.add("form-error");
      } else {
        bar.value = bar.max;
        note.textContent = "Uploaded as " + res.key + "; making its variants…";
        const pending = el("span", {
          class: "media-thumb media-pending",
          role: "img",
          "aria-label": "Variants pending",
          "data-pending-key": res.key,
        }, "Variants pending");
        row.prepend(pending);
        watch(pending);
      }
      resolve();
    });
    xhr.addEventListener("error", () => {
      bar.remove();
      note.textContent = "The upload failed (network error).";
      row.classList.add("form-error");
      resolve();
    });
    xhr.send(data);
  });
}

async function uploadAll(files) {
  const queue = [];
  for (const file of files) {
    const row = el("li", { class: "upload-row" });
    row.append(el("span", { class: "upload-name" }, file.name));
    row.append(el("progress", { max: "1", value: "0", "aria-label": "Upload of " + file.name }));
    row.append(el("span", { class: "upload-note" }));
    list.append(row);
    queue.push(() => upload(file, row));
  }
  const workers = [];
  for (let i = 0; i < parallel; i++) {
    workers.push((async () => {
      while (queue.length) await queue.shift()();
    })());
  }
  await Promise.all(workers);
  input.value = "";
}

if (form && input && list && window.FormData && window.XMLHttpRequest) {
  input.required = false;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (input.files.length) uploadAll(Array.from(input.files));
  });
  const zone = form.querySelector(".dropzone") || form;
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("dragging"));
  }
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    const files = Array.from(e.dataTransfer.files || []);
    if (files.length) uploadAll(files);
  });
}

// Polling: every image shown as pending asks the status endpoint, all in
// one request, until its variants exist; the wait grows to 10 s and stops
// after 15 minutes (the worker's dead letters then say why).
const waiting = new Map();
let timer = 0;
let delay = 1000;
let started = Date.now();

function watch(node) {
  waiting.set(node.dataset.pendingKey, node);
  delay = 1000;
  started = Date.now();
  if (!timer) timer = setTimeout(poll, delay);
}

async function poll() {
  timer = 0;
  if (!waiting.size || Date.now() - started > 15 * 60 * 1000) return;
  const keys = Array.from(waiting.keys()).slice(0, 100);
  const q = keys.map((k) => "key=" + encodeURIComponent(k)).join("&");
  try {
    const resp = await fetch("/admin/media/status?" + q, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (resp.ok) {
      const body = await resp.json();
      for (const st of body.images || []) {
        const node = waiting.get(st.key);
        if (!node) continue;
        if (st.missing) {
          node.textContent = "Deleted";
          waiting.delete(st.key);
        } else if (st.ready) {
          const img = el("img", { class: "media-thumb", src: st.thumb, alt: st.alt || "", width: "160", height: "160" });
          node.replaceWith(img);
          waiting.delete(st.key);
        }
      }
    }
  } catch {
    // try again at the next tick
  }
  delay = Math.min(delay * 1.5, 10000);
  if (waiting.size) timer = setTimeout(poll, delay);
}

for (const node of document.querySelectorAll("[data-pending-key]")) watch(node);
