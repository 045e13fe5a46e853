-- Rollups for the analytics pages (issue 13), kept by the worker in the
-- same transaction as the views they count, like those of 0003. A report
-- over a long range reads months where it can and days only at its ends,
-- so a year's top pages sum about 12 rows per path instead of 365
-- (docs/benchmarks.md, "Analytics queries").
--
-- Months are UTC 'YYYY-MM'. visitors is, as in 0003, the number of views
-- that were a visitor's first view of the day: summed over a range it is
-- the sum of daily unique visitors (a visitor cannot be linked across days).

-- All views of a day: the series and totals of the pages.
CREATE TABLE views_daily_totals (
    day      TEXT    PRIMARY KEY,
    views    INTEGER NOT NULL,
    visitors INTEGER NOT NULL
) WITHOUT ROWID;

-- views_daily summed over a month.
CREATE TABLE views_monthly (
    month    TEXT    NOT NULL,
    path     TEXT    NOT NULL,
    views    INTEGER NOT NULL,
    visitors INTEGER NOT NULL,
    PRIMARY KEY (month, path)
) WITHOUT ROWID;

-- views_daily_by summed over a month; dim first, as every report reads one.
CREATE TABLE views_monthly_by (
    dim      TEXT    NOT NULL,
    month    TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    views    INTEGER NOT NULL,
    visitors INTEGER NOT NULL,
    PRIMARY KEY (dim, month, value)
) WITHOUT ROWID;

INSERT INTO views_daily_totals (day, views, visitors)
SELECT day, sum(views), sum(visitors) FROM views_daily GROUP BY day;

INSERT INTO views_monthly (month, path, views, visitors)
SELECT substr(day, 1, 7), path, sum(views), sum(visitors) FROM views_daily GROUP BY 1, 2;

INSERT INTO views_monthly_by (dim, month, value, views, visitors)
SELECT dim, substr(day, 1, 7), value, sum(views), sum(visitors) FROM views_daily_by GROUP BY 1, 2, 3;
