-- Mails about comments waiting to go (issue 14), written by triggers in
-- the transaction that stores or approves the comment, so none is lost
-- between a comment's commit and a crash; the worker's comments.Notifier
-- mails them through jobs.notify and marks them sent.
--   kind 'new'   the admins' notice of a comment written on the site
--                (mailed alone or in a digest, at most one mail per
--                digest period);
--        'reply' the notice to the reader a reply answers, queued when the
--                reply is first approved (when written, or by the admin).
--   sent_at      when a mail took it (Unix seconds); 0 while it waits.
-- A comment deleted takes its notices with it.
CREATE TABLE comment_notices (
    comment_id INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('new', 'reply')),
    queued_at  INTEGER NOT NULL,
    sent_at    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (comment_id, kind)
) WITHOUT ROWID;
CREATE INDEX comment_notices_waiting ON comment_notices (kind, sent_at, comment_id);

CREATE TRIGGER comment_notices_new AFTER INSERT ON comments WHEN new.source = 'site' BEGIN
    INSERT INTO comment_notices (comment_id, kind, queued_at) VALUES (new.id, 'new', new.created_at)
        ON CONFLICT (comment_id, kind) DO UPDATE SET queued_at = excluded.queued_at, sent_at = 0;
END;
CREATE TRIGGER comment_notices_reply_new AFTER INSERT ON comments
    WHEN new.source = 'site' AND new.parent_id IS NOT NULL AND new.status = 'approved' BEGIN
    INSERT INTO comment_notices (comment_id, kind, queued_at) VALUES (new.id, 'reply', new.created_at)
        ON CONFLICT (comment_id, kind) DO UPDATE SET queued_at = excluded.queued_at, sent_at = 0;
END;
CREATE TRIGGER comment_notices_reply_approved AFTER UPDATE OF status ON comments
    WHEN new.source = 'site' AND new.parent_id IS NOT NULL AND new.status = 'approved' AND old.approved_at = 0 BEGIN
    INSERT INTO comment_notices (comment_id, kind, queued_at) VALUES (new.id, 'reply', new.approved_at)
        ON CONFLICT (comment_id, kind) DO NOTHING;
END;
CREATE TRIGGER comment_notices_gone AFTER DELETE ON comments BEGIN
    DELETE FROM comment_notices WHERE comment_id = old.id;
END;
