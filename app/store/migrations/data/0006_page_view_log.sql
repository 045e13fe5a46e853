-- Page views are stored a batch to a row (issue 4). A row per view cost
-- the worker about 4.5 µs per view in SQLite (13 parameters bound, the row
-- and its index entry written), two thirds of all it did for a view; a row
-- per batch costs a tenth of that. Nothing in the product reads single
-- views (the dashboard reads the rollups of 0003), so the log is kept
-- compact and the view page_views below gives one row per page view, as
-- the table did, for anyone who queries data.db.
CREATE TABLE page_view_batches (
    id       INTEGER PRIMARY KEY,
    -- The job that brought the views; a view's id is job_id || '.' || its
    -- index in the job, or job_id alone for a job of one view.
    job_id   TEXT    NOT NULL,
    -- Unix milliseconds of the earliest and the latest view of the row.
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL,
    -- How many views the row holds.
    views    INTEGER NOT NULL,
    -- A JSON array with one array per view:
    -- [index (null for a job of one view), viewed_at, path, referrer,
    --  visitor, new_visitor, country, city, browser, os, device,
    --  referrer_host, utm_source], the columns of page_views below.
    log      TEXT    NOT NULL
);
CREATE INDEX page_view_batches_first_at ON page_view_batches (first_at);

INSERT INTO page_view_batches (job_id, first_at, last_at, views, log)
SELECT job_id, viewed_at, viewed_at, 1,
       json_array(json_array(NULL, viewed_at, path, referrer, visitor, new_visitor, country, city,
                             browser, os, device, referrer_host, utm_source))
FROM page_views ORDER BY id;
DROP TABLE page_views;

CREATE VIEW page_views (job_id, viewed_at, path, referrer, visitor, new_visitor, country, city,
                        browser, os, device, referrer_host, utm_source) AS
SELECT CASE WHEN v.value ->> 0 IS NULL THEN b.job_id ELSE b.job_id || '.' || (v.value ->> 0) END,
       v.value ->> 1, v.value ->> 2, v.value ->> 3, v.value ->> 4, v.value ->> 5, v.value ->> 6,
       v.value ->> 7, v.value ->> 8, v.value ->> 9, v.value ->> 10, v.value ->> 11, v.value ->> 12
FROM page_view_batches AS b, json_each(b.log) AS v;
