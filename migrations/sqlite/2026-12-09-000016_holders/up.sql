-- The holder's own view (PIPL arts. 44-46). Her holder code is printed on her paper certificate and
-- kept only as an argon2id hash: one per person, replaced each time a certificate of hers is
-- printed; wrong codes are counted like wrong passwords and lock the code for a while.
CREATE TABLE holder_codes (
    id_number     TEXT PRIMARY KEY NOT NULL REFERENCES persons (id_number),
    code_hash     TEXT NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  TIMESTAMP,
    issued_at     TIMESTAMP NOT NULL
);

-- Her requests to correct her record (更正请求), owed an answer by an officer by their due day.
CREATE TABLE corrections (
    id           TEXT PRIMARY KEY NOT NULL,
    id_number    TEXT NOT NULL REFERENCES persons (id_number),
    subject      TEXT NOT NULL,
    request      TEXT NOT NULL,
    filed_at     TIMESTAMP NOT NULL,
    due_on       DATE NOT NULL,
    answer       TEXT,
    answered_at  TIMESTAMP,
    answered_by  TEXT REFERENCES api_keys (id)
);
CREATE INDEX corrections_by_person ON corrections (id_number);
CREATE INDEX corrections_open ON corrections (due_on) WHERE answered_at IS NULL;
