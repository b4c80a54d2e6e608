-- Log rows Postgres refused, kept whole with the error, so an operator can see why, fix the cause
-- and write them again (`ava store rejected list | replay`). The row is kept as text, not jsonb:
-- jsonb refuses some strings JSON allows (\u0000), and a kept row must never be refused itself.
CREATE TABLE IF NOT EXISTS rejected_rows (
    id          BIGSERIAL   PRIMARY KEY,
    kind        TEXT        NOT NULL,
    row_json    TEXT        NOT NULL,
    error       TEXT        NOT NULL,
    sqlstate    TEXT,
    rejected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    replayed_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS rejected_rows_rejected_at ON rejected_rows (rejected_at);

-- The request that created an alert (chat and event id): a retried job adds the same alert once.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS request_key TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS alerts_chat_request_key ON alerts (chat_id, request_key);

-- The final attempt of a dead-lettered job reads `dead`, not `retry`.
ALTER TABLE job_attempts DROP CONSTRAINT IF EXISTS job_attempts_outcome_check;
ALTER TABLE job_attempts ADD CONSTRAINT job_attempts_outcome_check
    CHECK (outcome IN ('done', 'retry', 'permanent', 'panic', 'lease_expired', 'dead'));
