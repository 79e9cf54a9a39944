CREATE TABLE audit_log_bigint (
    seq           BIGINT PRIMARY KEY NOT NULL,
    at            TIMESTAMP NOT NULL,
    request_id    TEXT NOT NULL,
    actor         TEXT NOT NULL,
    role          TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       TEXT,
    object        TEXT,
    purpose       TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    chain_format  SMALLINT NOT NULL DEFAULT 1
);
INSERT INTO audit_log_bigint SELECT * FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_bigint RENAME TO audit_log;
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
