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
-- A woman's card by the keyed hash that names her in the books (the women served, 服务率).
CREATE UNIQUE INDEX women_cards_by_subject ON women_cards (subject);
-- The married women of childbearing age and their methods (长效避孕率), read from the index alone.
CREATE INDEX women_cards_by_marital ON women_cards (marital, birth_date, method);
-- The women kept as origin or as residence, by age (发证率).
CREATE INDEX women_cards_by_side ON women_cards (side, birth_date);
-- The versions valid through a day (the certificate holders of 发证率), read by that day.
CREATE INDEX certificate_versions_by_validity ON certificate_versions (valid_until, issued_at);
