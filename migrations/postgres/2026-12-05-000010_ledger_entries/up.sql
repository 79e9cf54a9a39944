-- The books of record (三帐一卡): one entry per message that makes one (an arrival registered or
-- told, a departure recorded, an event reported or received), written in the transaction that
-- stores the message and never changed; a correction is a later entry naming the message whose
-- entry it corrects. `id` is the order entries were recorded, and the paging key.
CREATE TABLE ledger_entries (
    id           BIGSERIAL PRIMARY KEY,
    source       TEXT NOT NULL UNIQUE REFERENCES messages (id),
    -- The other node of that message: her origin, or the residence she lives at or left for.
    peer         TEXT NOT NULL,
    book         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    side         TEXT NOT NULL CHECK (side IN ('origin', 'residence')),
    -- Keyed hash (audit key) of the ID number: a person's entries without the number.
    subject      TEXT,
    id_number    TEXT NOT NULL,
    name         TEXT NOT NULL,
    on_date      DATE NOT NULL,
    method       TEXT,
    -- Of an arrival: the version of the valid certificate she showed (none: she must obtain one).
    certificate  TEXT,
    corrects     TEXT,
    recorded_at  TIMESTAMP NOT NULL
);
CREATE INDEX ledger_entries_by_book ON ledger_entries (book, id);
CREATE INDEX ledger_entries_by_date ON ledger_entries (book, on_date, id);
CREATE INDEX ledger_entries_by_subject ON ledger_entries (subject);
-- The women a node counts with each counterpart (the report's outflow and inflow), read from the
-- index alone in the order it groups them.
CREATE INDEX ledger_entries_by_counterpart ON ledger_entries (book, side, peer, subject, on_date);
CREATE INDEX ledger_entries_corrected ON ledger_entries (corrects) WHERE corrects IS NOT NULL;
