-- Revocation: every token carries the user's version; sign-out and password change raise it.
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;

-- Refresh tokens issued and not yet expired: each is used once; a second use revokes its family.
CREATE TABLE refresh_tokens (
    jti        TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    family     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    used       INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);

-- Analytics records are idempotent per reporter: a retry after a lost 201 adds nothing.
ALTER TABLE call_analytics ADD COLUMN record_key TEXT;
CREATE UNIQUE INDEX call_analytics_record_key ON call_analytics (reporter, record_key) WHERE record_key IS NOT NULL;
CREATE INDEX call_analytics_room_reporter ON call_analytics (room, reporter);

-- Who left each offline message, so one sender cannot fill another user's queue.
ALTER TABLE offline_messages ADD COLUMN sender TEXT NOT NULL DEFAULT '';
CREATE INDEX offline_messages_sender ON offline_messages (recipient, sender);

-- A history row the server filled in from the other party's report (the owner never
-- reported); the owner's own report replaces it.
ALTER TABLE call_history ADD COLUMN derived INTEGER NOT NULL DEFAULT 0;
