-- Page views arrive in batches (issue 4): a batch's job id is recorded in
-- processed_jobs in the same transaction as all of its rows, which is what
-- makes each view count exactly once. The UNIQUE index on the per-view
-- job_id ("<batch id>.<index>") only repeated that guarantee, and slowed
-- every insert, so page_views is rebuilt without it; job_id is kept as the
-- view's id.
CREATE TABLE page_views_new (
    id            INTEGER PRIMARY KEY,
    job_id        TEXT    NOT NULL,
    path          TEXT    NOT NULL,
    referrer      TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    viewed_at     INTEGER NOT NULL,
    visitor       TEXT    NOT NULL DEFAULT '',
    new_visitor   INTEGER NOT NULL DEFAULT 0,
    country       TEXT    NOT NULL DEFAULT '',
    city          TEXT    NOT NULL DEFAULT '',
    browser       TEXT    NOT NULL DEFAULT '',
    os            TEXT    NOT NULL DEFAULT '',
    device        TEXT    NOT NULL DEFAULT '',
    referrer_host TEXT    NOT NULL DEFAULT '',
    utm_source    TEXT    NOT NULL DEFAULT ''
);
INSERT INTO page_views_new (id, job_id, path, referrer, user_agent, viewed_at, visitor, new_visitor,
    country, city, browser, os, device, referrer_host, utm_source)
SELECT id, job_id, path, referrer, user_agent, viewed_at, visitor, new_visitor,
    country, city, browser, os, device, referrer_host, utm_source FROM page_views;
DROP TABLE page_views;
ALTER TABLE page_views_new RENAME TO page_views;
CREATE INDEX page_views_viewed_at ON page_views (viewed_at);
