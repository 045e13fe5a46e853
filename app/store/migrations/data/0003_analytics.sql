-- Page-view analytics and alerts (issue 4), written by the worker role.
-- Days are UTC dates 'YYYY-MM-DD'; hours are Unix seconds at the start of
-- the UTC hour; other times are Unix seconds unless named _ms.

-- What the worker derives from each page view. The IP is never stored;
-- user_agent and referrer of 0001 are left '' (only what is derived from them
-- is kept).
--   visitor      hash of the day's salt, the site, the IP and the user agent;
--                the same reader on the same day has the same value, and
--                once the salt is deleted (after 48 h) it cannot be linked
--   new_visitor  1 on that visitor's first view of the day
--   country      ISO code from the geo database, "unknown" without one
ALTER TABLE page_views ADD COLUMN visitor       TEXT    NOT NULL DEFAULT '';
ALTER TABLE page_views ADD COLUMN new_visitor   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE page_views ADD COLUMN country       TEXT    NOT NULL DEFAULT '';
ALTER TABLE page_views ADD COLUMN city          TEXT    NOT NULL DEFAULT '';
ALTER TABLE page_views ADD COLUMN browser       TEXT    NOT NULL DEFAULT '';
ALTER TABLE page_views ADD COLUMN os            TEXT    NOT NULL DEFAULT '';
ALTER TABLE page_views ADD COLUMN device        TEXT    NOT NULL DEFAULT '';
ALTER TABLE page_views ADD COLUMN referrer_host TEXT    NOT NULL DEFAULT '';
ALTER TABLE page_views ADD COLUMN utm_source    TEXT    NOT NULL DEFAULT '';

-- The secret salt of each day; rows older than 48 h are deleted.
CREATE TABLE visitor_salts (
    day        TEXT PRIMARY KEY,
    salt       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Visitors seen on a day, so that a visitor counts once a day; deleted with
-- the day's salt.
CREATE TABLE daily_visitors (
    day     TEXT NOT NULL,
    visitor TEXT NOT NULL,
    PRIMARY KEY (day, visitor)
) WITHOUT ROWID;

-- The bot ledger: views by crawlers and tools, which are not page views.
CREATE TABLE bot_views (
    day   TEXT    NOT NULL,
    bot   TEXT    NOT NULL,
    views INTEGER NOT NULL,
    PRIMARY KEY (day, bot)
) WITHOUT ROWID;

-- Rollups, kept in the same transaction as the views they count, so the
-- dashboard reads small tables. visitors counts visitors whose first view of
-- the day it was: summing it over paths and hours gives the day's uniques.
CREATE TABLE views_hourly (
    hour     INTEGER NOT NULL,
    path     TEXT    NOT NULL,
    views    INTEGER NOT NULL,
    visitors INTEGER NOT NULL,
    PRIMARY KEY (hour, path)
) WITHOUT ROWID;

CREATE TABLE views_daily (
    day      TEXT    NOT NULL,
    path     TEXT    NOT NULL,
    views    INTEGER NOT NULL,
    visitors INTEGER NOT NULL,
    PRIMARY KEY (day, path)
) WITHOUT ROWID;

-- Daily views by one dimension: country, browser, os, device, referrer, utm.
CREATE TABLE views_daily_by (
    day      TEXT    NOT NULL,
    dim      TEXT    NOT NULL,
    value    TEXT    NOT NULL,
    views    INTEGER NOT NULL,
    visitors INTEGER NOT NULL,
    PRIMARY KEY (day, dim, value)
) WITHOUT ROWID;

-- Alerts from jobs.alert, grouped: one row per source, level and message
-- while it repeats; count grows, and the admins are mailed at most once per
-- group per quiet period (notified_at).
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    level       TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    first_at    INTEGER NOT NULL,
    last_at     INTEGER NOT NULL,
    notified_at INTEGER NOT NULL DEFAULT 0,
    notified_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_group ON alerts (source, level, message, last_at);
