-- Everyone in a group call, the inviter included (protocol.md §4.2); a 1:1 call has no rows
-- here until someone invites a third person into it.
CREATE TABLE call_members (
    room   TEXT NOT NULL,
    member TEXT NOT NULL,
    PRIMARY KEY (room, member)
);
