-- The claim of due messages reads only those due. Without it, a backlog postponed while a peer is
-- down (or leased by another process) is read whole at every round of the delivery worker.
CREATE INDEX messages_next_attempt ON messages (direction, next_attempt_at) WHERE receipt IS NULL;
-- The married women kept as residence (服务率) are counted from the index alone too, as those of
-- both sides (长效避孕率) are.
DROP INDEX women_cards_by_marital;
CREATE INDEX women_cards_by_marital ON women_cards (marital, birth_date, method, side);
-- 服务率's numerator hashes the month's services against the married women kept as residence;
-- here both are read from an index alone (SQLite reads them from the indexes above).
CREATE INDEX women_cards_served ON women_cards (side, marital, birth_date) INCLUDE (subject);
CREATE INDEX ledger_entries_served ON ledger_entries (book, side, on_date) INCLUDE (subject);
