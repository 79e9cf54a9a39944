-- Lists that filter before their limit walk an index of what they ask for, not the whole table.
-- Messages still owing an answer (the overdue list): few among all, newest first.
CREATE INDEX messages_owing ON messages (id) WHERE answered_at IS NULL AND due_on IS NOT NULL;
-- Messages exchanged with one node, newest first.
CREATE INDEX messages_by_peer ON messages (peer, id);
-- Audit entries of one action, in chain order.
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
