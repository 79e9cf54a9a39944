-- A node restored from a backup has lost what it exchanged after the backup was made. Until a peer
-- has returned this node's own messages it holds and resent what this node lost, nothing is
-- delivered to that peer (its sequence numbers would repeat ones the peer already has).
CREATE TABLE restore_state (
    id           SMALLINT PRIMARY KEY CHECK (id = 1),
    restored_at  TIMESTAMP NOT NULL
);
CREATE TABLE rejoined_peers (
    peer  TEXT PRIMARY KEY,
    at    TIMESTAMP NOT NULL
);
