-- The cron role's scheduled tasks and the offsite backups (issue 5).

-- Where each scheduled task stands: last_slot is the scheduled time (unix
-- seconds) of the last run that finished, or the slot seen when the task was
-- first scheduled. A slot after it that has passed is due, so a run missed
-- while no cron process was up runs at the next start.
CREATE TABLE cron_tasks (
    name       TEXT PRIMARY KEY,
    last_slot  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Leases: a cron process runs a task only while it holds the task's lease,
-- taken in an IMMEDIATE transaction and renewed while the run lasts. A
-- process killed mid-run stops renewing, and the lease expires.
CREATE TABLE cron_leases (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at INTEGER NOT NULL -- unix milliseconds
) WITHOUT ROWID;

-- One row per run of a task, scheduled or by hand. Times in unix ms.
CREATE TABLE cron_runs (
    id              INTEGER PRIMARY KEY,
    task            TEXT NOT NULL,
    slot            INTEGER NOT NULL DEFAULT 0, -- unix seconds; 0 when run by hand
    trigger         TEXT NOT NULL,              -- schedule, missed, manual
    owner           TEXT NOT NULL,
    status          TEXT NOT NULL,              -- running, ok, failed, skipped, interrupted
    message         TEXT NOT NULL DEFAULT '',
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL DEFAULT 0,
    objects_checked INTEGER NOT NULL DEFAULT 0,
    objects_copied  INTEGER NOT NULL DEFAULT 0,
    bytes_copied    INTEGER NOT NULL DEFAULT 0,
    objects_deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cron_runs_task ON cron_runs (task, id);

-- One row per verification of an offsite tier.
CREATE TABLE backup_verifies (
    id               INTEGER PRIMARY KEY,
    tier             TEXT NOT NULL,
    ok               INTEGER NOT NULL,
    integrity        TEXT NOT NULL DEFAULT '', -- PRAGMA integrity_check of the tier's data.db
    objects          INTEGER NOT NULL DEFAULT 0,
    bytes            INTEGER NOT NULL DEFAULT 0,
    drift            INTEGER NOT NULL DEFAULT 0, -- objects that differ from the tier's manifest
    variants_checked INTEGER NOT NULL DEFAULT 0,
    variants_bad     INTEGER NOT NULL DEFAULT 0,
    message          TEXT NOT NULL DEFAULT '',
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER NOT NULL
);
CREATE INDEX backup_verifies_tier ON backup_verifies (tier, id);
