-- The complete record: users, the full life of each update, replies with an idempotency key,
-- state transitions, job attempts, dead letters with their audit trail, and rate-limit violations.
-- Every statement is idempotent (IF NOT EXISTS / OR REPLACE) so a re-run changes nothing.
-- Rows arrive through the batched writer, possibly replayed from the Redis spool after an outage:
-- every table has a unique key so a replayed row is absorbed by ON CONFLICT.

-- message_log: one row per incoming update (unique update_id), from receipt to outcome.
ALTER TABLE message_log ADD COLUMN IF NOT EXISTS enqueued_at TIMESTAMPTZ;
ALTER TABLE message_log ADD COLUMN IF NOT EXISTS command TEXT;
ALTER TABLE message_log ADD COLUMN IF NOT EXISTS error TEXT;
-- "What did this user send lately", "how often is /analyze used", "what failed today".
CREATE INDEX IF NOT EXISTS message_log_user_received ON message_log (user_id, received_at DESC);
CREATE INDEX IF NOT EXISTS message_log_command_received ON message_log (command, received_at)
    WHERE command IS NOT NULL;
CREATE INDEX IF NOT EXISTS message_log_outcome_finished ON message_log (outcome, finished_at);

-- outbound_log: log_key is minted when the row is created, so a replayed row is a no-op.
ALTER TABLE outbound_log ADD COLUMN IF NOT EXISTS log_key TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS outbound_log_log_key ON outbound_log (log_key);
CREATE INDEX IF NOT EXISTS outbound_log_failed ON outbound_log (sent_at) WHERE status <> 'sent';

CREATE TABLE IF NOT EXISTS users (
    user_id       BIGINT PRIMARY KEY,
    username      TEXT,
    first_name    TEXT,
    language_code TEXT,
    first_seen    TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    blocked       BOOLEAN     NOT NULL DEFAULT false,
    blocked_at    TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS users_username ON users (lower(username));
CREATE INDEX IF NOT EXISTS users_last_seen ON users (last_seen DESC);

CREATE TABLE IF NOT EXISTS conversation_transitions (
    id         BIGSERIAL PRIMARY KEY,
    log_key    TEXT        NOT NULL UNIQUE,
    chat_id    BIGINT      NOT NULL,
    update_id  BIGINT,
    from_state TEXT        NOT NULL,
    to_state   TEXT        NOT NULL,
    event      TEXT        NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS conversation_transitions_chat_at ON conversation_transitions (chat_id, at DESC);
CREATE INDEX IF NOT EXISTS conversation_transitions_at ON conversation_transitions (at);

CREATE TABLE IF NOT EXISTS job_attempts (
    id          BIGSERIAL PRIMARY KEY,
    job_id      TEXT        NOT NULL,
    attempt     INTEGER     NOT NULL,
    kind        TEXT        NOT NULL,
    lane        TEXT        NOT NULL,
    job_key     TEXT        NOT NULL,
    worker      TEXT,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    outcome     TEXT        NOT NULL CHECK (outcome IN ('done', 'retry', 'permanent', 'panic', 'lease_expired')),
    error       TEXT,
    retry_in_ms BIGINT,
    UNIQUE (job_id, attempt)
);
CREATE INDEX IF NOT EXISTS job_attempts_started ON job_attempts (started_at);
CREATE INDEX IF NOT EXISTS job_attempts_outcome_finished ON job_attempts (outcome, finished_at);
CREATE INDEX IF NOT EXISTS job_attempts_key_started ON job_attempts (job_key, started_at DESC);

-- Mirrors the Redis dead-letter queue; status follows replays and purges.
CREATE TABLE IF NOT EXISTS dead_letters (
    job_id      TEXT PRIMARY KEY,
    kind        TEXT        NOT NULL,
    lane        TEXT        NOT NULL,
    job_key     TEXT        NOT NULL,
    payload     JSONB       NOT NULL,
    error       TEXT        NOT NULL,
    attempts    INTEGER     NOT NULL,
    enqueued_at TIMESTAMPTZ,
    failed_at   TIMESTAMPTZ NOT NULL,
    status      TEXT        NOT NULL DEFAULT 'dead' CHECK (status IN ('dead', 'replayed', 'purged')),
    resolved_at TIMESTAMPTZ,
    resolved_by TEXT
);
CREATE INDEX IF NOT EXISTS dead_letters_status_failed ON dead_letters (status, failed_at DESC);
CREATE INDEX IF NOT EXISTS dead_letters_kind_failed ON dead_letters (kind, failed_at DESC);

-- Who replayed or purged which dead letters, when, with which filter.
CREATE TABLE IF NOT EXISTS dead_letter_audit (
    id       BIGSERIAL PRIMARY KEY,
    log_key  TEXT        NOT NULL UNIQUE,
    action   TEXT        NOT NULL CHECK (action IN ('replay', 'purge')),
    actor    TEXT        NOT NULL,
    filter   JSONB       NOT NULL,
    job_ids  TEXT[]      NOT NULL,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letter_audit_at ON dead_letter_audit (at DESC);

CREATE TABLE IF NOT EXISTS rate_limit_violations (
    id             BIGSERIAL PRIMARY KEY,
    log_key        TEXT        NOT NULL UNIQUE,
    at             TIMESTAMPTZ NOT NULL,
    scope          TEXT        NOT NULL,
    chat_id        BIGINT,
    method         TEXT,
    retry_after_ms BIGINT,
    detail         TEXT
);
CREATE INDEX IF NOT EXISTS rate_limit_violations_at ON rate_limit_violations (at);
CREATE INDEX IF NOT EXISTS rate_limit_violations_chat_at ON rate_limit_violations (chat_id, at DESC);

-- For operators: violations per hour, scope and chat, newest first.
CREATE OR REPLACE VIEW v_rate_limit_violations AS
SELECT date_trunc('hour', at) AS hour,
       scope,
       chat_id,
       count(*)              AS violations,
       max(retry_after_ms)   AS max_retry_after_ms,
       min(at)               AS first_at,
       max(at)               AS last_at
FROM rate_limit_violations
GROUP BY 1, 2, 3
ORDER BY 1 DESC, 4 DESC;
