-- The audit log's index by person, kept by the writer in large batches sorted by person instead of
-- one insert at a random place of a B-tree per entry (the cost of most of an audited read's
-- write). Entries after `audit_index.indexed_to` are not in it yet: a search by person also reads
-- that short tail of the log.
CREATE TABLE audit_subjects (
    subject TEXT NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (subject, seq)
) WITHOUT ROWID;
INSERT INTO audit_subjects (subject, seq) SELECT subject, seq FROM audit_log WHERE subject IS NOT NULL;
CREATE TABLE audit_index (
    id          SMALLINT PRIMARY KEY CHECK (id = 1),
    indexed_to  BIGINT NOT NULL
);
INSERT INTO audit_index (id, indexed_to) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_log;
DROP INDEX audit_log_by_subject;
