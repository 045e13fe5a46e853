// The admin dashboard, live: every figure the page rendered follows the
// dashboard's stream (GET /admin/live, app/admin), an SSE stream of
//   events.metrics.views   a batch of stored page views (events.Views)
//   events.alerts.*        an alert (events.Alert)
//   events.comments.<post> a comment (events.Comment)
//   readers                people with a post open now ({total})
//   status                 queue, backups, this process (views.DashboardStatus)
// Stored events (events.*) carry their sequence in the EVENTS stream as id.
// A new stream starts with the last 15 minutes of them (the chart); a
// reconnecting one sends Last-Event-ID and gets exactly the ones it missed,
// and any id not above the last one seen is ignored: no event is counted
// twice, none is missed.
//
// The stream is read with fetch rather than EventSource because a stored
// event is named by its subject, and EventSource hands on only the names
// listened to: events.comments.<post> names a new event for every post.
//
// Page views today: the page rendered the rollups as of a mark of the
// page-view log (data-mark); each views event carries the mark of its
// batch, and only batches past the page's mark are added. Alerts: the page
// listed the table as of the stream's sequence data-seq; only later alerts
// are added.

const root = document.getElementById("dashboard");
if (root && root.dataset.stream && "fetch" in window && "TextDecoderStream" in window) {
  start(root);
}

function start(root) {
  const $ = (id) => document.getElementById(id);
  const url = root.dataset.stream;
  const pageMark = Number(root.dataset.mark) || 0;
  const pageSeq = Number(root.dataset.seq) || 0;
  let day = root.dataset.day;
  let viewsToday = Number($("dash-views-today").dataset.value) || 0;
  let visitorsToday = Number($("dash-visitors-today").dataset.value) || 0;
  let lastID = 0; // the last stored event taken in
  let retry = 3000; // the stream's "retry:", in ms
  const MINUTE = 60000;
  const SPAN = 15; // minutes in the chart
  const TOP_SPAN = 5 * MINUTE; // top pages now
  const perMinute = new Map(); // minute (ms since 1970 / MINUTE) → views
  let recent = []; // [{t, paths}] of the last TOP_SPAN

  // ---- the figures ----

  const setFigure = (id, value, text) => {
    const el = $(id);
    if (!el) return;
    el.dataset.value = String(value);
    el.textContent = text === undefined ? String(value) : text;
  };
  const mib = (n) => (n / 1048576).toFixed(1) + " MiB";
  const percent = (p) => (p < 0 ? "–" : p.toFixed(1) + " %");
  const pad = (n) => String(n).padStart(2, "0");
  const minuteStamp = (iso) => {
    const d = new Date(iso);
    if (isNaN(d) || d.getUTCFullYear() < 2) return "never";
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  };
  const hhmm = (ms) => {
    const d = new Date(ms);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  };
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c);
    return e;
  };
  const svg = (tag, attrs) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  };

  function views(e) {
    const v = e.data;
    const t = Date.parse(v.at);
    if (isNaN(t)) return;
    const minute = Math.floor(t / MINUTE);
    perMinute.set(minute, (perMinute.get(minute) || 0) + (v.views || 0));
    if (v.paths) recent.push({ t, paths: v.paths });
    // Today's figures: only what the page's own figures did not count.
    const counted = v.mark ? v.mark <= pageMark : e.id <= pageSeq;
    const vday = new Date(t).toISOString().slice(0, 10);
    if (!counted && vday >= day) {
      if (vday > day) {
        day = vday; // a new day (UTC) began
        viewsToday = 0;
        visitorsToday = 0;
      }
      viewsToday += v.views || 0;
      visitorsToday += v.visitors || 0;
      setFigure("dash-views-today", viewsToday);
      setFigure("dash-visitors-today", visitorsToday);
    }
    drawChart();
    drawTop();
  }

  function drawChart() {
    const chart = $("dash-chart");
    const now = Math.floor(Date.now() / MINUTE);
    for (const m of perMinute.keys()) if (m <= now - SPAN - 1) perMinute.delete(m);
    const points = [];
    for (let m = now - SPAN + 1; m <= now; m++) points.push(perMinute.get(m) || 0);
    const sum = points.reduce((a, b) => a + b, 0);
    const max = Math.max(1, ...points);
    const W = 600, H = 160, top = 14, bottom = 20, slot = W / SPAN;
    const bars = [];
    points.forEach((n, i) => {
      const h = ((H - top - bottom) * n) / max;
      const minute = (now - SPAN + 1 + i) * MINUTE;
      const bar = svg("rect", {
        x: (i * slot + 2).toFixed(1), y: (H - bottom - h).toFixed(1),
        width: (slot - 4).toFixed(1), height: Math.max(h, n > 0 ? 1 : 0).toFixed(1),
        class: "bar", "data-minute": new Date(minute).toISOString(), "data-views": n,
      });
      const title = svg("title");
      title.textContent = hhmm(minute) + ": " + n + (n === 1 ? " page view" : " page views");
      bar.append(title);
      bars.push(bar);
    });
    const label = (x, y, text, anchor) => {
      const t = svg("text", { x, y, "text-anchor": anchor });
      t.textContent = text;
      return t;
    };
    const base = svg("line", { x1: 0, x2: W, y1: H - bottom + 0.5, y2: H - bottom + 0.5, class: "axis" });
    chart.replaceChildren(
      base, ...bars,
      label(2, 11, "max " + max + " / min", "start"),
      label(2, H - 4, hhmm((now - SPAN + 1) * MINUTE), "start"),
      label(W - 2, H - 4, hhmm(now * MINUTE) + " UTC", "end"),
    );
    chart.dataset.points = JSON.stringify(points);
    chart.dataset.sum = String(sum);
    setFigure("dash-views-recent", sum);
  }

  function drawTop() {
    const since = Date.now() - TOP_SPAN;
    recent = recent.filter((r) => r.t >= since);
    const sums = new Map();
    for (const r of recent) {
      for (const [path, n] of Object.entries(r.paths)) sums.set(path, (sums.get(path) || 0) + n);
    }
    const top = [...sums].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
    const list = $("dash-top-now");
    if (top.length === 0) {
      list.replaceChildren(el("li", { class: "help" }, "No page views in the last 5 minutes."));
      return;
    }
    list.replaceChildren(...top.map(([path, n]) =>
      el("li", { "data-path": path, "data-views": String(n) },
        el("span", { class: "dash-path" }, path), " ", el("span", { class: "dash-n" }, String(n)))));
  }

  const cap = (list, n) => {
    while (list.children.length > n) list.lastElementChild.remove();
  };

  function alert(e) {
    if (e.id <= pageSeq) return; // listed by the page already
    const a = e.data;
    const list = $("dash-alerts");
    list.prepend(el("li", { class: "dash-alert level-" + a.level, "data-id": String(e.id) },
      el("strong", {}, a.level), " " + a.source + ": " + a.message + " ",
      el("span", { class: "help" }, el("time", { datetime: a.at }, minuteStamp(a.at)))));
    cap(list, 20);
    const none = $("dash-alerts-none");
    if (none) none.hidden = true;
  }

  function comment(e) {
    const c = e.data;
    const list = $("dash-comments");
    const link = el("a", { href: "/posts/" + encodeURIComponent(c.post) }, c.post);
    list.prepend(el("li", { "data-id": String(e.id) },
      el("strong", {}, c.author || "someone"), " on ", link, c.held ? " (held for approval)" : "", ": " + c.body + " ",
      el("span", { class: "help" }, el("time", { datetime: c.at }, minuteStamp(c.at)))));
    cap(list, 20);
    $("dash-comments-none").hidden = true;
  }

  function status(s) {
    const q = s.queue || {};
    const problem = $("dash-queue-problem");
    problem.textContent = q.problem || "";
    problem.hidden = !q.problem;
    setFigure("dash-queue-jobs", q.jobs || 0);
    setFigure("dash-queue-inhand", q.in_hand || 0);
    setFigure("dash-queue-dead", q.dead || 0);
    const b = s.backups || {};
    const note = $("dash-backups-note");
    note.textContent = b.note || "";
    note.hidden = !b.note;
    const tasks = [];
    for (const t of b.tasks || []) {
      const dd = el("dd", { "data-status": t.status || "" }, t.status || "never run");
      if (t.status) dd.append(" ", el("span", { class: "help" }, minuteStamp(t.finished)));
      tasks.push(el("dt", {}, t.label), dd);
    }
    $("dash-backups").replaceChildren(...tasks);
    if (b.replica) {
      setFigure("dash-replica-lag", b.replica.lag, b.replica.lag + " transactions");
      $("dash-replica-sync").textContent = minuteStamp(b.replica.last_sync);
    } else {
      setFigure("dash-replica-lag", "", "unknown");
      $("dash-replica-sync").textContent = "unknown";
    }
    const p = s.process || {};
    setFigure("dash-cpu", p.cpu, percent(p.cpu));
    setFigure("dash-rss", p.rss || 0, mib(p.rss || 0));
    setFigure("dash-heap", p.heap || 0, mib(p.heap || 0));
    setFigure("dash-streams", p.streams || 0);
  }

  function take(e) {
    if (e.name.startsWith("events.")) {
      if (!(e.id > lastID)) {
        // Sent again: the stream did not resume where it stopped. Counted
        // (for tests), never taken in.
        root.dataset.repeats = String(Number(root.dataset.repeats || 0) + 1);
        return;
      }
      lastID = e.id;
      root.dataset.lastId = String(lastID);
    }
    if (e.name === "events.metrics.views") views(e);
    else if (e.name.startsWith("events.alerts.")) alert(e);
    else if (e.name.startsWith("events.comments.")) comment(e);
    else if (e.name === "readers") setFigure("dash-readers", e.data.total || 0);
    else if (e.name === "status") status(e.data);
  }

  // ---- the connection ----

  const stateText = {
    connecting: "Connecting to live updates…",
    live: "Live: the figures follow the site as it happens.",
    reconnecting: "Connection lost; reconnecting. The figures resume where they stopped.",
  };
  function setState(state, text) {
    if (root.dataset.state === state && !text) return; // say it once
    root.dataset.state = state;
    $("dash-state").textContent = text || stateText[state];
  }

  // read parses the stream (the SSE format) and hands on each event.
  async function read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let name = "", data = [], id = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        if (buf[nl] === "\r" && nl === buf.length - 1) break; // a \r\n may be split
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (data.length > 0) {
            let parsed = null;
            try {
              parsed = JSON.parse(data.join("\n"));
            } catch {
              parsed = null;
            }
            if (parsed !== null) take({ name: name || "message", id: Number(id) || 0, data: parsed });
          }
          name = "";
          data = [];
          id = "";
          continue;
        }
        if (line.startsWith(":")) continue; // a heartbeat
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? "" : line.slice(colon + 1);
        if (v.startsWith(" ")) v = v.slice(1);
        if (field === "event") name = v;
        else if (field === "data") data.push(v);
        else if (field === "id") id = v;
        else if (field === "retry" && /^\d+$/.test(v)) retry = Number(v);
      }
    }
  }

  async function connect() {
    setState(lastID > 0 ? "reconnecting" : "connecting");
    let wait = retry;
    try {
      const headers = { Accept: "text/event-stream" };
      if (lastID > 0) headers["Last-Event-ID"] = String(lastID);
      const resp = await fetch(url, { headers, cache: "no-store", credentials: "same-origin" });
      if (resp.ok && (resp.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
        root.dataset.connects = String(Number(root.dataset.connects || 0) + 1);
        setState("live");
        await read(resp.body);
      } else if (resp.status === 429 || resp.status === 503) {
        wait = Math.max(retry, 1000 * (Number(resp.headers.get("Retry-After")) || 10));
        setState("reconnecting", "Live updates are busy (" + resp.status + "); trying again in " + Math.round(wait / 1000) + " s.");
      } else {
        setState("stopped", resp.redirected
          ? "Live updates stopped: you are signed out. Sign in again, then reload this page."
          : "Live updates stopped: the server answered " + resp.status + ". Reload the page to start again.");
        return;
      }
    } catch {
      // the network dropped: try again
    }
    setState("reconnecting");
    setTimeout(connect, wait);
  }

  drawChart();
  drawTop();
  setInterval(() => {
    drawChart();
    drawTop();
  }, 5000);
  connect();
}
