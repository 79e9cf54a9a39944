-- The women's cards (育龄妇女卡) as they stand: one per woman this node keeps, as origin or as
-- residence, with her marital status and contraception. A township's existing register comes in
-- through `hunyu import`; a card is changed only when what is imported differs.
CREATE TABLE women_cards (
    id_number    TEXT PRIMARY KEY,
    -- Keyed hash (audit key) of the ID number.
    subject      TEXT NOT NULL,
    name         TEXT NOT NULL,
    birth_date   DATE NOT NULL,
    -- GB/T 2261.2 code.
    marital      TEXT NOT NULL,
    method       TEXT,
    side         TEXT NOT NULL CHECK (side IN ('origin', 'residence')),
    counterpart  TEXT,
    since        DATE NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
-- The married women of childbearing age and their methods (长效避孕率), read from the index alone.
CREATE INDEX women_cards_by_marital ON women_cards (marital, birth_date, method);
-- The women kept as origin or as residence, by age (发证率).
CREATE INDEX women_cards_by_side ON women_cards (side, birth_date);
-- A woman's entries in one book over a period (the services she received, 服务率): this index
-- replaces the one by subject alone, which its first column still serves.
DROP INDEX ledger_entries_by_subject;
CREATE INDEX ledger_entries_by_subject ON ledger_entries (subject, book, on_date);
