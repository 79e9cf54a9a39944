-- Foundation schema (SQLite). Times are UTC; dates are calendar dates in Asia/Shanghai.

-- Bearer API keys per role; only the SHA-256 of the key is kept.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'officer', 'worker', 'employer', 'auditor')),
    label       TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,
    revoked_at  TIMESTAMP
);

-- A person known to this node (one row per citizen ID number).
CREATE TABLE persons (
    id_number   TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    sex         TEXT NOT NULL CHECK (sex IN ('F', 'M')),
    birth_date  DATE NOT NULL,
    hukou       TEXT NOT NULL,
    ethnicity   TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- A certificate lineage: every renewal is a new version of the same certificate.
CREATE TABLE certificates (
    id          TEXT PRIMARY KEY NOT NULL,
    id_number   TEXT NOT NULL REFERENCES persons (id_number),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX certificates_by_person ON certificates (id_number);

-- Every signed version, kept forever; status changes live in certificate_events.
CREATE TABLE certificate_versions (
    jti             TEXT PRIMARY KEY NOT NULL,
    certificate_id  TEXT NOT NULL REFERENCES certificates (id),
    version         INTEGER NOT NULL CHECK (version >= 1),
    supersedes      TEXT REFERENCES certificate_versions (jti),
    issued_at       TIMESTAMP NOT NULL,
    valid_until     DATE NOT NULL,
    token           TEXT NOT NULL,
    qr              TEXT NOT NULL,
    -- The employer presentation bound to this version: name, issuer and validity only.
    employer_token  TEXT NOT NULL,
    employer_qr     TEXT NOT NULL,
    issued_by       TEXT NOT NULL REFERENCES api_keys (id),
    UNIQUE (certificate_id, version)
);

-- Status changes of a version (superseded, revoked): appended, never overwritten.
CREATE TABLE certificate_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    jti         TEXT NOT NULL REFERENCES certificate_versions (jti),
    status      TEXT NOT NULL CHECK (status IN ('superseded', 'revoked')),
    reason      TEXT,
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL REFERENCES api_keys (id)
);
CREATE INDEX certificate_events_by_jti ON certificate_events (jti);


-- Every read or write of personal data, hash-chained: an edited or deleted entry breaks the chain.
-- `subject` is an HMAC of the person's ID number under the node's audit key, never the number.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY NOT NULL,
    at          TIMESTAMP NOT NULL,
    request_id  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT,
    object      TEXT,
    purpose     TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_by_at ON audit_log (at);
