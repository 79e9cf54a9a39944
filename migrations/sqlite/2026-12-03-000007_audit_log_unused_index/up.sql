-- No query reads the audit log by time (a period is a range of seq, which follows time): the
-- index cost every audited access an insert at the end of one more B-tree.
DROP INDEX audit_log_by_at;
