-- The Janus VideoRoom room of each group call carried by the SFU (protocol.md §6). Its secret
-- lets only this server destroy it; `closed_at` is set once it is destroyed.
CREATE TABLE sfu_rooms (
    room       TEXT PRIMARY KEY,
    janus_room INTEGER NOT NULL UNIQUE,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    closed_at  INTEGER
);
CREATE INDEX sfu_rooms_open ON sfu_rooms (closed_at, created_at);
