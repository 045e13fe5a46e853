// A post page's one live stream (GET /live/posts/<slug>, app/live.Posts):
// it says how many people read the post now ("3 reading now", this reader
// included), and hands every event it receives to the page's other scripts
// as a "live:event" on document, so none of them opens a second stream:
//
//   document.addEventListener("live:event", (e) => {
//     const { name, id, data } = e.detail;
//     // name: "readers" (data {post, count}) or the post's comment subject,
//     //       "events.comments.<slug>" (data: an events.Comment);
//     // id:   the event's sequence in the EVENTS stream (a number), 0 for
//     //       an event not stored ("readers");
//     // data: the event's JSON, parsed.
//   });
//
// The page is the same for every reader (it is cached): the count is only
// ever filled in here, and stays hidden without this script, while the
// stream is down, and at 0.

const el = document.querySelector("[data-live-post]");
if (el && "EventSource" in window) {
  const slug = el.dataset.livePost;
  const url = "/live/posts/" + encodeURIComponent(slug);
  const names = ["readers", "events.comments." + slug, "message"];
  let source = null;
  let lastID = 0; // the last stored event handed on, so none is handed on twice

  const show = (count) => {
    if (!Number.isInteger(count) || count < 1) {
      el.hidden = true;
      el.textContent = "";
      return;
    }
    el.textContent = count + " reading now";
    el.hidden = false;
  };

  const receive = (e) => {
    let data = e.data;
    try {
      data = JSON.parse(e.data);
    } catch {
      // handed on as text
    }
    // lastEventId stays set across events without an id: only stored
    // events (named by their subject) have one of their own.
    const id = e.type.startsWith("events.") ? Number(e.lastEventId) || 0 : 0;
    if (id > 0) {
      if (id <= lastID) return;
      lastID = id;
    }
    if (e.type === "readers" && data && data.post === slug) show(data.count);
    document.dispatchEvent(new CustomEvent("live:event", { detail: { name: e.type, id, data } }));
  };

  const open = () => {
    if (source) return;
    source = new EventSource(url);
    for (const name of names) source.addEventListener(name, receive);
    // While the browser reconnects the count is unknown; a new one comes
    // first thing on the new connection. A refusal (429 or 503: the site
    // holds as many streams as it can) makes the browser give up for good
    // and ignore Retry-After, so try again ourselves, later and spread out.
    source.addEventListener("error", () => {
      show(0);
      if (source && source.readyState === EventSource.CLOSED) {
        source = null;
        clearTimeout(retry);
        retry = setTimeout(open, 30000 + Math.random() * 30000);
      }
    });
  };
  let retry = 0;
  const close = () => {
    clearTimeout(retry);
    if (!source) return;
    source.close();
    source = null;
    show(0);
  };

  // Leaving the page stops counting this reader at once, and a page
  // restored from the back/forward cache counts again.
  window.addEventListener("pagehide", close);
  window.addEventListener("pageshow", (e) => {
    if (e.persisted) open();
  });
  open();
}
