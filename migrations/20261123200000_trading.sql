-- Conversations' data: price alerts, collected prices, and the paper broker's ledger.

CREATE TABLE IF NOT EXISTS alerts (
    id              BIGSERIAL PRIMARY KEY,
    chat_id         BIGINT           NOT NULL,
    symbol          TEXT             NOT NULL,
    direction       TEXT             NOT NULL CHECK (direction IN ('above', 'below')),
    price           DOUBLE PRECISION NOT NULL,
    armed           BOOLEAN          NOT NULL DEFAULT true,
    -- Bumped on every re-arm; a notification is deduplicated per (id, generation).
    generation      INTEGER          NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ      NOT NULL DEFAULT now(),
    triggered_at    TIMESTAMPTZ,
    triggered_price DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS alerts_chat ON alerts (chat_id);
CREATE INDEX IF NOT EXISTS alerts_armed_symbol ON alerts (symbol) WHERE armed;

CREATE TABLE IF NOT EXISTS price_history (
    symbol    TEXT             NOT NULL,
    ts        TIMESTAMPTZ      NOT NULL,
    price     DOUBLE PRECISION NOT NULL,
    volume    BIGINT           NOT NULL DEFAULT 0,
    PRIMARY KEY (symbol, ts)
);

CREATE TABLE IF NOT EXISTS accounts (
    -- The chat's id: one paper account per chat.
    id             BIGINT      PRIMARY KEY,
    cash_cents     BIGINT      NOT NULL,
    reserved_cents BIGINT      NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS positions (
    account_id          BIGINT      NOT NULL REFERENCES accounts (id),
    symbol              TEXT        NOT NULL,
    instrument          TEXT        NOT NULL,
    quantity            BIGINT      NOT NULL,
    average_price_cents BIGINT      NOT NULL,
    exposure_cents      BIGINT      NOT NULL DEFAULT 0,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, instrument)
);

CREATE TABLE IF NOT EXISTS orders (
    id              BIGSERIAL PRIMARY KEY,
    account_id      BIGINT      NOT NULL REFERENCES accounts (id),
    -- One per confirmation: a double tap or a job retry finds the first order.
    idempotency_key TEXT        NOT NULL UNIQUE,
    symbol          TEXT        NOT NULL,
    instrument      TEXT        NOT NULL,
    side            TEXT        NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity        INTEGER     NOT NULL CHECK (quantity > 0),
    price_cents     BIGINT      NOT NULL,
    status          TEXT        NOT NULL,
    details         JSONB       NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_account ON orders (account_id, created_at DESC);
