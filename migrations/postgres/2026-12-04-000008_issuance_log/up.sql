-- The issuance transparency log (签发透明日志): every certificate version this node signed, in the
-- order signed, as a leaf of an RFC 9162 Merkle tree (leaf hash of the version's signed
-- payload, the same bytes in its token and its QR text).
-- Appended in the issuing transaction (under the chain lock) and never changed; `idx` is the leaf
-- index from 0. Versions signed before this table existed are appended when the node next opens
-- its store.
CREATE TABLE issuance_log (
    idx        BIGINT PRIMARY KEY,
    jti        TEXT NOT NULL UNIQUE,
    leaf_hash  TEXT NOT NULL,
    logged_at  TIMESTAMP NOT NULL
);
