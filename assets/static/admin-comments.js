// The moderation queue (/admin/comments, app/admin/comments.go), with the
// keyboard and live notice of new comments. The page works without this
// file: every action is a button of one form.
//
// Keys (shown in the help line this file reveals): j / k move to the
// next / previous comment, x selects it (its checkbox), a approves, r
// rejects, d deletes, b bans its reader; d and b ask first. Keys typed in a
// field, or with Ctrl, Alt or Meta, are left alone.
//
// Live: the queue's stream (data-stream, an SSE stream of events.comments.*)
// says when comments arrive or are approved elsewhere; the page says how
// many since it opened, with a link to reload. The stream is read with
// fetch because its events are named by subject (events.comments.<post>),
// which EventSource cannot listen to all at once.

const form = document.getElementById("queue");
if (form) {
  keyboard(form);
  if (form.dataset.stream && "fetch" in window && "TextDecoderStream" in window) {
    follow(form.dataset.stream);
  }
}

function keyboard(form) {
  const items = () => Array.from(form.querySelectorAll(".queue-item"));
  const help = document.getElementById("queue-keys");
  if (help) help.hidden = false;
  let current = -1;

  const focus = (i) => {
    const list = items();
    if (list.length === 0) return;
    current = Math.max(0, Math.min(list.length - 1, i));
    list.forEach((el, n) => el.classList.toggle("current", n === current));
    list[current].focus();
  };
  // A click or focus inside a comment makes it the current one.
  form.addEventListener("focusin", (e) => {
    const item = e.target.closest(".queue-item");
    if (item) {
      const i = items().indexOf(item);
      if (i !== current) {
        current = i;
        items().forEach((el, n) => el.classList.toggle("current", n === current));
      }
    }
  });

  const confirmFirst = { delete: "Delete this comment and its replies?", ban: "Ban this reader from commenting?" };
  const press = (action) => {
    const item = items()[current];
    if (!item) return;
    const button = item.querySelector(`button[data-key="${action}"]`);
    if (!button) return;
    if (confirmFirst[action] && !window.confirm(confirmFirst[action])) return;
    button.click();
  };

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey || e.isComposing) return;
    const t = e.target;
    if (t.closest && t.closest("input[type=text], input[type=search], textarea, select, [contenteditable]")) return;
    switch (e.key) {
      case "j":
        focus(current + 1);
        break;
      case "k":
        focus(current < 0 ? 0 : current - 1);
        break;
      case "x": {
        const item = items()[current];
        const box = item && item.querySelector("input[type=checkbox]");
        if (box) box.checked = !box.checked;
        break;
      }
      case "a":
        press("approve");
        break;
      case "r":
        press("reject");
        break;
      case "d":
        press("delete");
        break;
      case "b":
        press("ban");
        break;
      default:
        return;
    }
    e.preventDefault();
  });
}

function follow(url) {
  const line = document.getElementById("queue-live");
  let lastID = "";
  let held = 0;
  let shown = 0;
  let retry = 3000;

  const say = () => {
    if (!line) return;
    const parts = [];
    if (held) parts.push(held === 1 ? "1 new comment waiting for approval" : `${held} new comments waiting for approval`);
    if (shown) parts.push(shown === 1 ? "1 comment shown" : `${shown} comments shown`);
    line.replaceChildren(`Since this page opened: ${parts.join(", ")}. `);
    const a = document.createElement("a");
    a.href = window.location.href;
    a.textContent = "Reload to see them";
    line.append(a);
    line.hidden = false;
  };

  const event = (name, data) => {
    if (!name.startsWith("events.comments.")) return;
    let e;
    try {
      e = JSON.parse(data);
    } catch {
      return;
    }
    if (e.held) held++;
    else shown++;
    say();
  };

  const connect = async () => {
    const headers = { Accept: "text/event-stream" };
    if (lastID) headers["Last-Event-ID"] = lastID;
    try {
      const resp = await fetch(url, { headers, credentials: "same-origin" });
      if (!resp.ok || !resp.body) throw new Error(String(resp.status));
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      let name = "";
      let data = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const l = buf.slice(0, nl).replace(/\r$/, "");
          buf = buf.slice(nl + 1);
          if (l === "") {
            if (data.length) event(name, data.join("\n"));
            name = "";
            data = [];
          } else if (l.startsWith("event:")) {
            name = l.slice(6).trim();
          } else if (l.startsWith("data:")) {
            data.push(l.slice(5).replace(/^ /, ""));
          } else if (l.startsWith("id:")) {
            lastID = l.slice(3).trim();
          } else if (l.startsWith("retry:")) {
            retry = Number(l.slice(6)) || retry;
          }
        }
      }
    } catch {
      // reconnect below
    }
    setTimeout(connect, retry);
  };
  connect();
}
