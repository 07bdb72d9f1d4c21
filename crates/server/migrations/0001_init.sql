-- Users: a username is the NX ID's local part (E.164 with '+', or a name).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    email         TEXT,
    display_name  TEXT,
    created_at    TEXT NOT NULL,
    last_seen     TEXT
);

-- One row per call set up through the API.
CREATE TABLE calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    room        TEXT NOT NULL UNIQUE,
    caller      TEXT NOT NULL,
    callee      TEXT NOT NULL,
    call_type   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- What each party's history shows: one row per (owner, room).
CREATE TABLE call_history (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    owner            TEXT NOT NULL,
    room             TEXT NOT NULL,
    caller           TEXT NOT NULL,
    callee           TEXT NOT NULL,
    peer             TEXT NOT NULL,
    direction        TEXT NOT NULL,
    call_type        TEXT NOT NULL,
    status           TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (owner, room)
);
CREATE INDEX call_history_owner_time ON call_history (owner, created_at DESC);

-- Raw analytics events as clients sent them.
CREATE TABLE call_analytics (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    room             TEXT NOT NULL,
    reporter         TEXT NOT NULL,
    call_type        TEXT NOT NULL,
    status           TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL,
    metadata         TEXT NOT NULL,
    created_at       TEXT NOT NULL
);

CREATE TABLE contacts (
    owner  TEXT NOT NULL,
    nxid   TEXT NOT NULL,
    name   TEXT NOT NULL,
    PRIMARY KEY (owner, nxid)
);

-- Stanzas kept for users who were offline, replayed at their next login.
CREATE TABLE offline_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient  TEXT NOT NULL,
    stanza     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX offline_messages_recipient ON offline_messages (recipient, id);
