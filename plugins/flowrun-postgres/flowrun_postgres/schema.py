"""The PostgreSQL store's schema, versioned in ``flowrun_schema``: ``MIGRATIONS[n]``
takes it from version n to n+1. Every host may be the first to open a store: the
migration runs in one transaction under an advisory lock, so two hosts never race."""
from __future__ import annotations

from typing import Any

from flowrun.plugin import StoreError, redact_url

#: Any number: the advisory lock key under which a store is created or migrated.
MIGRATION_LOCK = 7_210_026


def _migrate_to_1(cur: Any) -> None:
    """Runs (with their host's lease), attempts, flow state and cron slots."""
    for statement in (
        "CREATE SEQUENCE flowrun_seq",
        "CREATE TABLE flowrun_runs (id TEXT PRIMARY KEY, flow TEXT NOT NULL, "
        "status TEXT NOT NULL, started DOUBLE PRECISION, finished DOUBLE PRECISION, "
        "params TEXT, resumed_from TEXT, counts TEXT, partition TEXT, "
        "scheduled_for DOUBLE PRECISION, pid INTEGER, host TEXT, error TEXT, reason TEXT, "
        # the lease: renewed (database clock) by the running host; lease_gen fences
        "renewed DOUBLE PRECISION, lease_gen INTEGER NOT NULL DEFAULT 0, "
        "seq BIGINT NOT NULL DEFAULT nextval('flowrun_seq'))",
        "CREATE INDEX flowrun_runs_flow_started ON flowrun_runs (flow, started)",
        "CREATE INDEX flowrun_runs_started ON flowrun_runs (started)",
        "CREATE INDEX flowrun_runs_seq ON flowrun_runs (seq)",
        "CREATE INDEX flowrun_runs_running ON flowrun_runs (renewed) "
        "WHERE status = 'running'",
        # no foreign key to runs: its per-row check was half of a batch's insert time
        "CREATE TABLE flowrun_attempts (run_id TEXT NOT NULL, "
        "task_id TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT, "
        "queued DOUBLE PRECISION, started DOUBLE PRECISION, finished DOUBLE PRECISION, "
        "error TEXT, summary TEXT, reason TEXT, stdout TEXT, stderr TEXT, log TEXT, "
        "result BYTEA, result_format TEXT, run_key TEXT, parent TEXT, result_ref TEXT, "
        "source_hash TEXT, args_hash TEXT, seq BIGINT NOT NULL DEFAULT nextval('flowrun_seq'), "
        "PRIMARY KEY (run_id, task_id, attempt))",
        "CREATE INDEX flowrun_attempts_seq ON flowrun_attempts (seq)",
        "CREATE INDEX flowrun_attempts_run_key ON flowrun_attempts (run_key) "
        "WHERE run_key IS NOT NULL",
        "CREATE TABLE flowrun_state (flow TEXT, key TEXT, value BYTEA, format TEXT, "
        "PRIMARY KEY (flow, key))",
        "CREATE TABLE flowrun_slots (flow TEXT, slot DOUBLE PRECISION, status TEXT, "
        "claimed DOUBLE PRECISION, finished DOUBLE PRECISION, "
        "busy_seen DOUBLE PRECISION, run_host TEXT, PRIMARY KEY (flow, slot))"):
        cur.execute(statement)


def _migrate_to_2(cur: Any) -> None:
    """Concurrency limits shared by hosts: one row per taken slot."""
    cur.execute("CREATE TABLE flowrun_limits (grp TEXT NOT NULL, run_id TEXT NOT NULL)")
    cur.execute("CREATE INDEX flowrun_limits_grp ON flowrun_limits (grp)")
    cur.execute("CREATE INDEX flowrun_limits_run ON flowrun_limits (run_id)")


def _migrate_to_3(cur: Any) -> None:
    """Paused schedules (every host's ``--due`` skips them) and the fingerprints of
    cached tasks, one row per (task id, partition) with its success's result."""
    cur.execute("CREATE TABLE flowrun_paused (flow TEXT PRIMARY KEY, "
                "since DOUBLE PRECISION NOT NULL)")
    cur.execute("CREATE TABLE flowrun_fingerprints (task_id TEXT NOT NULL, "
                "partition TEXT NOT NULL, fingerprint TEXT NOT NULL, run_id TEXT, "
                "flow_id TEXT, result BYTEA, result_format TEXT, result_ref TEXT, "
                "recorded DOUBLE PRECISION, PRIMARY KEY (task_id, partition))")


def _migrate_to_4(cur: Any) -> None:
    """Alerts: the notifications' outbox (its key unique: a message is added once by
    whichever host comes first), missed cron slots (once per slot) and trace ids."""
    for statement in (
        "CREATE TABLE flowrun_notifications (id BIGSERIAL PRIMARY KEY, "
        "key TEXT NOT NULL UNIQUE, channel TEXT, label TEXT, event TEXT, flow TEXT, "
        "run_id TEXT, payload TEXT, created DOUBLE PRECISION, status TEXT NOT NULL, "
        "tries INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, "
        "next_try DOUBLE PRECISION, last_try DOUBLE PRECISION, error TEXT)",
        "CREATE INDEX flowrun_notifications_due ON flowrun_notifications "
        "(next_try, id) WHERE status = 'pending'",
        "CREATE INDEX flowrun_notifications_last ON flowrun_notifications "
        "(channel, flow, event, created)",
        "CREATE TABLE flowrun_missed (flow TEXT NOT NULL, slot DOUBLE PRECISION NOT NULL, "
        "noticed DOUBLE PRECISION, PRIMARY KEY (flow, slot))",
        "ALTER TABLE flowrun_runs ADD COLUMN trace_id TEXT"):
        cur.execute(statement)


def _migrate_to_5(cur: Any) -> None:
    """Log search: a GIN index over the words of each attempt's output (``search.py``)."""
    cur.execute(
        "CREATE FUNCTION flowrun_log_words(stdout TEXT, stderr TEXT, log TEXT) "
        "RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT to_tsvector("
        f"'simple'::regconfig, regexp_replace(left(coalesce(log, '') || ' ' || "
        "coalesce(stderr, '') || ' ' || coalesce(stdout, ''), "
        f"{INDEXED_CHARACTERS}), '[[:punct:]]+', ' ', 'g')) $$")
    cur.execute("CREATE INDEX flowrun_attempts_words ON flowrun_attempts USING gin "
                f"(flowrun_log_words(stdout, stderr, log)) WHERE {HAS_OUTPUT}")


def _migrate_to_6(cur: Any) -> None:
    """Each fingerprint's quick key: what a null run compares instead of reading the
    fingerprint (NULL for rows recorded before: those tasks are judged the long way
    once, then get one)."""
    cur.execute("ALTER TABLE flowrun_fingerprints ADD COLUMN quick TEXT")


#: The characters of an attempt's output (log records, then stderr, then stdout) whose
#: words are indexed for search: a ``tsvector`` holds at most 1 MB of words.
INDEXED_CHARACTERS = 200_000
#: Only attempts with output are indexed: most writes (queued, running, silent tasks)
#: then skip the index. A search repeats this condition to use it.
HAS_OUTPUT = "(stdout <> '' OR stderr <> '' OR log <> '')"
MIGRATIONS = (_migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4, _migrate_to_5,
              _migrate_to_6)
SCHEMA_VERSION = len(MIGRATIONS)


def ensure_schema(conn: Any, url: str) -> None:
    """Create or migrate the schema (one transaction); refuse a newer one."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        cur.execute("SELECT to_regclass('flowrun_schema') IS NOT NULL")
        if not cur.fetchone()[0]:
            cur.execute("CREATE TABLE flowrun_schema (version INTEGER NOT NULL)")
            cur.execute("INSERT INTO flowrun_schema VALUES (0)")
        cur.execute("SELECT version FROM flowrun_schema")
        version = cur.fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"the store {redact_url(url)} was written by a newer flowrun "
                             f"(schema {version}, this one knows {SCHEMA_VERSION})")
        for step in MIGRATIONS[version:]:
            step(cur)
        if version < SCHEMA_VERSION:
            cur.execute("UPDATE flowrun_schema SET version = %s", (SCHEMA_VERSION,))
