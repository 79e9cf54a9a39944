DROP INDEX ledger_entries_by_subject;
CREATE INDEX ledger_entries_by_subject ON ledger_entries (subject);
DROP TABLE women_cards;
