// Comments on a post page (views.Comments, app/comments). The page works
// without this script: the form posts and the page comes back. With it:
//
// - posting does not reload the page: the form is sent with fetch (the
//   same body, Accept: application/json) and the comment the server
//   rendered is put in place, or the reason it was refused is shown with
//   the text left as typed;
// - "Reply" sets the form to answer that comment, in place;
// - a comment approved while the page is open appears: post.js hands on
//   every event of the post's live stream as a "live:event" on document,
//   and an "events.comments.<slug>" one that is not held is added, once.
//
// Only HTML the server sanitized is ever inserted as HTML (a comment's
// body, or the fragment the server rendered); names are set as text.

const section = document.querySelector("[data-comments-post]");
if (section) {
  const slug = section.dataset.commentsPost;
  const list = section.querySelector("[data-comment-list]");
  const heading = section.querySelector("[data-comment-count]");
  const form = section.querySelector("[data-comment-form]");

  const countText = (n) => (n === 0 ? "No comments yet" : n === 1 ? "1 comment" : n + " comments");
  const bump = () => {
    if (!heading) return;
    const n = (parseInt(heading.dataset.commentCount, 10) || 0) + 1;
    heading.dataset.commentCount = String(n);
    heading.textContent = countText(n);
  };

  const validID = (id) => /^[0-9]{1,18}$/.test(String(id));

  // when formats a time as the server does: "2 January 2006 at 15:04 UTC".
  const months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  const when = (d) =>
    `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} at ` +
    `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")} UTC`;

  // build makes a comment's element from a live event (an events.Comment).
  const build = (data) => {
    const anchor = "comment-" + data.id;
    const li = document.createElement("li");
    li.id = anchor;
    li.className = "comment comment-new";
    li.dataset.commentId = String(data.id);
    const article = document.createElement("article");
    article.setAttribute("aria-labelledby", anchor + "-by");
    const header = document.createElement("header");
    header.className = "comment-meta";
    const author = document.createElement("span");
    author.className = "comment-author";
    author.id = anchor + "-by";
    author.textContent = String(data.author || "");
    const link = document.createElement("a");
    link.className = "comment-link";
    link.href = "#" + anchor;
    const time = document.createElement("time");
    const at = new Date(data.at);
    if (!Number.isNaN(at.getTime())) {
      time.dateTime = at.toISOString();
      time.textContent = when(at);
    }
    link.append(time);
    header.append(author, " ", link);
    const body = document.createElement("div");
    body.className = "comment-body";
    body.innerHTML = String(data.body || ""); // sanitized by the server (comments.Sanitize)
    article.append(header, body);
    li.append(article);
    return li;
  };

  // place puts a comment's element under its parent (a reply) or at the end
  // of the list; false when the parent is not on the page.
  const place = (li, parent) => {
    if (!parent) {
      list.append(li);
      return true;
    }
    const p = document.getElementById("comment-" + parent);
    if (!p || !list.contains(p)) return false;
    let replies = p.querySelector(":scope > [data-comment-replies]");
    if (!replies) {
      replies = document.createElement("ol");
      replies.className = "comment-replies";
      replies.dataset.commentReplies = "";
      p.append(replies);
    }
    replies.append(li);
    return true;
  };

  document.addEventListener("live:event", (e) => {
    const { name, data } = e.detail || {};
    if (name !== "events.comments." + slug || !data || typeof data !== "object") return;
    if (data.held !== false || data.post !== slug || !validID(data.id)) return;
    if (data.parent && !validID(data.parent)) return;
    if (document.getElementById("comment-" + data.id)) return; // shown already
    if (place(build(data), data.parent)) bump();
  });

  if (form) {
    const error = form.querySelector("[data-comment-error]");
    const replying = form.querySelector("[data-comment-replying]");
    const parentLink = form.querySelector("[data-comment-parent-link]");
    const button = form.querySelector("button[type=submit]");

    const showError = (text) => {
      error.textContent = text;
      error.hidden = !text;
    };
    const replyTo = (id, name) => {
      form.elements.parent.value = id || "";
      replying.hidden = !id;
      if (id) {
        parentLink.textContent = name;
        parentLink.href = "#comment-" + id;
      }
    };

    section.addEventListener("click", (e) => {
      const reply = e.target.closest("[data-reply-to]");
      if (!reply) return;
      e.preventDefault();
      replyTo(reply.dataset.replyTo, reply.dataset.replyAuthor || "");
      form.elements.body.focus();
    });
    form.querySelector("[data-comment-cancel-reply]")?.addEventListener("click", (e) => {
      e.preventDefault();
      replyTo("", "");
    });

    form.addEventListener("submit", async (e) => {
      if (!window.fetch) return; // post the plain way
      e.preventDefault();
      button.disabled = true;
      try {
        const resp = await fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(new FormData(form)),
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        let data = null;
        try {
          data = await resp.json();
        } catch {
          // not JSON: an error page
        }
        if (data && data.stamp) form.elements.stamp.value = data.stamp;
        if (!resp.ok || !data || !data.fragment) {
          showError((data && data.error) || "Your comment could not be posted (error " + resp.status + "). Try again.");
          return;
        }
        const t = document.createElement("template");
        t.innerHTML = data.fragment; // rendered by the server, comment sanitized
        const li = t.content.firstElementChild;
        const shown = document.getElementById(li.id);
        if (shown) {
          shown.replaceWith(li); // the live event came first
        } else if (place(li, data.parent) && !data.held) {
          bump();
        }
        showError("");
        form.elements.body.value = "";
        replyTo("", "");
        li.scrollIntoView({ block: "nearest" });
      } catch {
        showError("Your comment could not be sent: check your connection, then try again. Your text is still here.");
      } finally {
        button.disabled = false;
      }
    });
  }
}
