-- Access control: accounts belong to people, and refusals are recorded.

-- A paper account is now a Telegram user's (accounts.id is the user id). Accounts opened before
-- were keyed by chat: in a private chat the chat id is the user's id, so those stay theirs as
-- they are. Group chats have negative ids and no owner: they are kept, marked, and no longer
-- traded on (orders are placed only in private chats, on the person's own account).
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS owner TEXT NOT NULL DEFAULT 'user'
    CHECK (owner IN ('user', 'legacy_group'));
UPDATE accounts SET owner = 'legacy_group' WHERE id < 0;
COMMENT ON COLUMN accounts.id IS 'Telegram user id of the account''s owner (legacy_group rows: the group chat id)';

CREATE TABLE IF NOT EXISTS access_denied (
    id        BIGSERIAL PRIMARY KEY,
    log_key   TEXT        NOT NULL UNIQUE,
    at        TIMESTAMPTZ NOT NULL,
    user_id   BIGINT      NOT NULL,
    chat_id   BIGINT      NOT NULL,
    -- What was attempted: view, trade, group_trade, confirm, admin.
    action    TEXT        NOT NULL,
    update_id BIGINT,
    -- Whether the person was told (refusal messages are rate-limited per user).
    notified  BOOLEAN     NOT NULL
);
CREATE INDEX IF NOT EXISTS access_denied_at ON access_denied (at);
CREATE INDEX IF NOT EXISTS access_denied_user_at ON access_denied (user_id, at DESC);
