DROP INDEX audit_log_by_action;
DROP INDEX messages_by_peer;
DROP INDEX messages_owing;
