-- Page views are stored a batch to a row (issue 4): a row per view (13
-- parameters bound, the row and its index entry written, then shipped by
-- Litestream) cost the worker much more per view (go test ./app/analytics
-- -bench HandleBatch; docs/benchmarks.md). Nothing in the product reads
-- single views (reports are to read the rollups of 0003),
-- so the log is kept compact, and the view page_views below gives one row
-- per page view with the columns the table had, for anyone who queries
-- data.db.
CREATE TABLE page_view_batches (
    id      INTEGER PRIMARY KEY,
    -- The job that brought the views; a view's id is job_id || '.' || its
    -- index in the job, or job_id alone for a job of one view.
    job_id  TEXT    NOT NULL,
    -- Unix milliseconds that each view's time counts from; no view of the
    -- row is earlier.
    base_at INTEGER NOT NULL,
    -- How many views the row holds.
    views   INTEGER NOT NULL,
    -- A JSON array of the row's distinct strings.
    strings TEXT    NOT NULL,
    -- A JSON array with one array per view:
    --   [index (null for a job of one view), milliseconds after base_at,
    --    path, referrer, visitor, new_visitor, country, city, browser, os,
    --    device, referrer_host, utm_source]
    -- where every column but new_visitor is a position in strings.
    log     TEXT    NOT NULL
);
CREATE INDEX page_view_batches_base_at ON page_view_batches (base_at);

INSERT INTO page_view_batches (job_id, base_at, views, strings, log)
SELECT job_id, viewed_at, 1,
       json_array(path, referrer, visitor, country, city, browser, os, device, referrer_host, utm_source),
       json_array(json_array(NULL, 0, 0, 1, 2, new_visitor, 3, 4, 5, 6, 7, 8, 9))
FROM page_views ORDER BY id;
DROP TABLE page_views;

CREATE VIEW page_views (job_id, viewed_at, path, referrer, visitor, new_visitor, country, city,
                        browser, os, device, referrer_host, utm_source) AS
SELECT CASE WHEN v.value ->> 0 IS NULL THEN b.job_id ELSE b.job_id || '.' || (v.value ->> 0) END,
       b.base_at + (v.value ->> 1),
       b.strings ->> (v.value ->> 2), b.strings ->> (v.value ->> 3), b.strings ->> (v.value ->> 4),
       v.value ->> 5,
       b.strings ->> (v.value ->> 6), b.strings ->> (v.value ->> 7), b.strings ->> (v.value ->> 8),
       b.strings ->> (v.value ->> 9), b.strings ->> (v.value ->> 10), b.strings ->> (v.value ->> 11),
       b.strings ->> (v.value ->> 12)
FROM page_view_batches AS b, json_each(b.log) AS v;
