-- Call links (protocol.md §2.2): every link this server signed, so one can be listed, revoked
-- and checked against (`room` is the link's key). `kind` is `call` (the seed's per-call link,
-- for `invitee`) or `room` (a reusable room link with a lobby: its owner admits each guest).
CREATE TABLE call_links (
    room       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    call_type  TEXT NOT NULL,
    invitee    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX call_links_owner ON call_links (owner, expires_at);

-- Guests let in by a link: a short-lived identity that may signal only `host` about its own
-- call `room`, and ends (`ended_at`) with that call or when `link` is revoked.
CREATE TABLE guests (
    jid        TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    link       TEXT NOT NULL,
    room       TEXT NOT NULL,
    host       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at   INTEGER
);
CREATE INDEX guests_link ON guests (link);
