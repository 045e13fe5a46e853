-- Comments (issue 14): readers' comments on posts, one level of replies,
-- held for the admin's approval by the site's moderation policy. Times are
-- Unix seconds (UTC); 0 means "not yet".
--   post_id     the post commented on; its comments go with it.
--   parent_id   the top-level comment a reply answers, NULL for a
--               top-level comment (replies to replies are not made).
--   user_id     the reader who wrote it; NULL for an imported comment.
--   author      the name shown with it (the reader's display name then).
--   body        the Markdown as written; html is what readers see: body
--               rendered and sanitized when written, stored so no page
--               renders Markdown per comment.
--   status      held (waiting for approval), approved (shown) or rejected.
--   edited_at   when its author last edited it.
--   approved_at when it was approved.
--   source      where it came from: the site, or an import ('disqus',
--               'wxr') with the importer's id in source_id, so importing
--               the same file twice adds nothing.
--   notify      the writer wants an email when a reply is approved.
CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    parent_id   INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    user_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    author      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    html        TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('held', 'approved', 'rejected')),
    created_at  INTEGER NOT NULL,
    edited_at   INTEGER NOT NULL DEFAULT 0,
    approved_at INTEGER NOT NULL DEFAULT 0,
    source      TEXT    NOT NULL DEFAULT 'site' CHECK (source IN ('site', 'disqus', 'wxr')),
    source_id   TEXT,
    notify      INTEGER NOT NULL DEFAULT 0,
    CHECK ((source = 'site') = (source_id IS NULL))
);
-- A post's comments in order (the page), and the moderation queue (held
-- ones, oldest first; any status, newest first).
CREATE INDEX comments_post ON comments (post_id, created_at, id);
CREATE INDEX comments_status ON comments (status, created_at, id);
-- Replies of a comment (and the cascade when it goes).
CREATE INDEX comments_parent ON comments (parent_id) WHERE parent_id IS NOT NULL;
-- A reader's comments: rate of writing, duplicates, "first comment".
CREATE INDEX comments_user ON comments (user_id, created_at) WHERE user_id IS NOT NULL;
-- One row per imported comment.
CREATE UNIQUE INDEX comments_source ON comments (source, source_id) WHERE source_id IS NOT NULL;

-- Readers the admin banned from commenting: their new comments are refused.
CREATE TABLE comment_bans (
    user_id   INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    banned_at INTEGER NOT NULL,
    banned_by INTEGER REFERENCES users (id) ON DELETE SET NULL, -- the admin
    reason    TEXT    NOT NULL DEFAULT ''
);

-- Per post: comments_closed is the admin's switch (no new comments);
-- comment_count is the number of approved comments, kept by the triggers
-- below, so lists show it without reading comments.
ALTER TABLE posts ADD COLUMN comments_closed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN comment_count INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER comments_count_i AFTER INSERT ON comments WHEN new.status = 'approved' BEGIN
    UPDATE posts SET comment_count = comment_count + 1 WHERE id = new.post_id;
END;
CREATE TRIGGER comments_count_d AFTER DELETE ON comments WHEN old.status = 'approved' BEGIN
    UPDATE posts SET comment_count = max(comment_count - 1, 0) WHERE id = old.post_id;
END;
CREATE TRIGGER comments_count_u AFTER UPDATE OF status ON comments
    WHEN (old.status = 'approved') <> (new.status = 'approved') BEGIN
    UPDATE posts SET comment_count = comment_count + CASE WHEN new.status = 'approved' THEN 1 ELSE -1 END
        WHERE id = new.post_id;
END;

-- The page cache empties when content_version moves. A change of the
-- comments readers see changes comment_count (a posts update, which moves
-- it) except an edit of a shown comment, which moves it here. Held and
-- rejected comments change no public page and move nothing.
CREATE TRIGGER comments_v_u AFTER UPDATE ON comments
    WHEN old.status = 'approved' AND new.status = 'approved'
     AND (old.html IS NOT new.html OR old.author IS NOT new.author OR old.parent_id IS NOT new.parent_id) BEGIN
    UPDATE content_version SET version = version + 1;
END;

-- Search indexes title, summary and body_text: reindex a post when one of
-- them is written, not when its comment count or switch changes.
DROP TRIGGER posts_fts_au;
CREATE TRIGGER posts_fts_au AFTER UPDATE OF title, summary, body_text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, summary, body_text) VALUES ('delete', old.id, old.title, old.summary, old.body_text);
    INSERT INTO posts_fts (rowid, title, summary, body_text) VALUES (new.id, new.title, new.summary, new.body_text);
END;
