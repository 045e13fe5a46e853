-- Jobs whose effect is committed: the worker records a job's id in the same
-- transaction as its effect, so a redelivered job changes nothing.
CREATE TABLE processed_jobs (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    done_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per page view, written by the worker from jobs.pageview.
CREATE TABLE page_views (
    id         INTEGER PRIMARY KEY,
    job_id     TEXT NOT NULL UNIQUE,
    path       TEXT NOT NULL,
    referrer   TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    viewed_at  INTEGER NOT NULL
);
CREATE INDEX page_views_viewed_at ON page_views (viewed_at);
