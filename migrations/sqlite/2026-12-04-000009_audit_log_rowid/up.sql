-- `seq` becomes the audit log's rowid (only `INTEGER PRIMARY KEY` is one in SQLite; `BIGINT
-- PRIMARY KEY` kept a second B-tree of seq beside the table): one B-tree fewer written per
-- audited access, and the chain read in the table's own order.
CREATE TABLE audit_log_by_seq (
    seq           INTEGER PRIMARY KEY NOT NULL,
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
INSERT INTO audit_log_by_seq
    SELECT seq, at, request_id, actor, role, action, subject, object, purpose, outcome, prev_hash, hash, chain_format
    FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_by_seq RENAME TO audit_log;
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
