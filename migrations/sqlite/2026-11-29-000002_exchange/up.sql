-- Exchange between nodes (sqlite). Times are UTC; dates are calendar dates in Asia/Shanghai.

-- Every signed message this node sent (direction 'out': the transactional outbox, written in the
-- same transaction as the business change) or received ('in': the idempotent inbox, keyed by id).
CREATE TABLE messages (
    id               TEXT PRIMARY KEY NOT NULL,
    direction        TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    peer             TEXT NOT NULL,
    seq              BIGINT NOT NULL CHECK (seq >= 1),
    kind             TEXT NOT NULL,
    -- Keyed hash (audit key) of the person's ID number: finds a person's messages without the number.
    subject          TEXT,
    in_reply_to      TEXT,
    -- Last day for the answer owed to the sender, if one is owed.
    due_on           DATE,
    token            TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    -- The signed receipt: received from the peer (out) or issued by this node (in).
    receipt          TEXT,
    receipted_at     TIMESTAMP,
    answered_at      TIMESTAMP,
    -- Delivery of outgoing messages: retried with backoff until receipted.
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Also the lease: a claimed row is not due again until its attempt ends or times out.
    next_attempt_at  TIMESTAMP,
    last_error       TEXT,
    UNIQUE (direction, peer, seq)
);
-- The claim of due messages; direction leads, or SQLite would rather search the unique
-- (direction, peer, seq) index and step over every message ever delivered.
CREATE INDEX messages_to_deliver ON messages (direction, peer, seq) WHERE receipt IS NULL;
CREATE INDEX messages_by_kind ON messages (direction, kind, created_at);
CREATE INDEX messages_by_subject ON messages (subject);
CREATE INDEX messages_by_reply ON messages (in_reply_to);

-- Last sequence number per peer and direction: sent ('out') or accepted ('in').
CREATE TABLE peer_sequences (
    peer       TEXT NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    last_seq   BIGINT NOT NULL,
    PRIMARY KEY (peer, direction)
);

-- Renewals and revocations of other nodes' certificates, as their issuers reported them.
CREATE TABLE received_statuses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    jti         TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('superseded', 'revoked')),
    at          TIMESTAMP NOT NULL,
    message_id  TEXT NOT NULL REFERENCES messages (id)
);
CREATE INDEX received_statuses_by_jti ON received_statuses (jti);
