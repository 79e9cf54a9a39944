-- Each audit entry names how its hash was computed: 1, the fields joined with U+001F (entries
-- written before); 2, each field length-prefixed, so that no field's content can shift another.
ALTER TABLE audit_log ADD COLUMN chain_format SMALLINT NOT NULL DEFAULT 1;
