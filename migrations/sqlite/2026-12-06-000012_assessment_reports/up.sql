-- The node's monthly reports (双向考核月报) as it signed them: version 1 made when the month is
-- closed, one more each time a later fact changes its figures (each names the one it supersedes);
-- none is changed or removed. `sent_at` is when the superior (the registry) kept it.
CREATE TABLE assessment_reports (
    jti         TEXT PRIMARY KEY,
    month       TEXT NOT NULL,
    ver         INTEGER NOT NULL CHECK (ver >= 1),
    supersedes  TEXT REFERENCES assessment_reports (jti),
    token       TEXT NOT NULL,
    made_at     TIMESTAMP NOT NULL,
    sent_at     TIMESTAMP,
    -- Why the registry did not keep it yet (its answer, or that it was unreachable).
    last_error  TEXT,
    UNIQUE (month, ver)
);
-- The reports still to send, the oldest first.
CREATE INDEX assessment_reports_unsent ON assessment_reports (month, ver) WHERE sent_at IS NULL;
