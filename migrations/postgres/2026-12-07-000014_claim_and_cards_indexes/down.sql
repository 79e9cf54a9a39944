DROP INDEX ledger_entries_served;
DROP INDEX women_cards_served;
DROP INDEX women_cards_by_marital;
CREATE INDEX women_cards_by_marital ON women_cards (marital, birth_date, method);
DROP INDEX messages_next_attempt;
