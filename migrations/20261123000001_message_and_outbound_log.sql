-- The record of every update in and every reply out.
CREATE TABLE IF NOT EXISTS message_log (
    id          BIGSERIAL PRIMARY KEY,
    update_id   BIGINT      NOT NULL UNIQUE,
    chat_id     BIGINT,
    user_id     BIGINT,
    kind        TEXT        NOT NULL,
    lane        TEXT        NOT NULL,
    text        TEXT,
    raw         JSONB       NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    outcome     TEXT,
    attempts    INTEGER     NOT NULL DEFAULT 0,
    worker      TEXT
);
CREATE INDEX IF NOT EXISTS message_log_chat_received ON message_log (chat_id, received_at DESC);
CREATE INDEX IF NOT EXISTS message_log_received ON message_log (received_at);

CREATE TABLE IF NOT EXISTS outbound_log (
    id          BIGSERIAL PRIMARY KEY,
    update_id   BIGINT,
    chat_id     BIGINT      NOT NULL,
    method      TEXT        NOT NULL,
    payload     JSONB       NOT NULL,
    message_id  BIGINT,
    status      TEXT        NOT NULL,
    error       TEXT,
    sent_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    latency_ms  INTEGER
);
CREATE INDEX IF NOT EXISTS outbound_log_chat_sent ON outbound_log (chat_id, sent_at DESC);
CREATE INDEX IF NOT EXISTS outbound_log_update ON outbound_log (update_id);
