CREATE INDEX audit_log_by_at ON audit_log (at);
