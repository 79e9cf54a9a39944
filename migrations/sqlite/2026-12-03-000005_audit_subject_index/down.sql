CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
DROP TABLE audit_index;
DROP TABLE audit_subjects;
