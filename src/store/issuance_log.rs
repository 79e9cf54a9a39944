//! The issuance transparency log (签发透明日志): every certificate version this node signed, as a
//! leaf of its Merkle tree, appended in the transaction that stores the version.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{certificate_versions, issuance_log};
use super::{DbConn, StoreError};
use crate::seal::hex;
use crate::seal::merkle::{self, Hash};
use crate::seal::transparency::leaf_of_token;

/// Appends the version `jti` as the next leaf (its signed payload, read from its uncompressed
/// compact JWS `token`); returns its index.
/// Inside a transaction of [`super::Store::write`], whose chain lock keeps indexes in order across
/// processes.
pub fn append(conn: &mut DbConn, jti: &str, token: &str, at: NaiveDateTime) -> Result<i64, StoreError> {
    let last: Option<i64> = issuance_log::table.select(diesel::dsl::max(issuance_log::idx)).first(conn)?;
    let idx = last.map_or(0, |last| last + 1);
    let leaf = leaf_of_token(token)
        .ok_or_else(|| StoreError::Corrupt(format!("version {jti} has no readable payload to log")))?;
    diesel::insert_into(issuance_log::table)
        .values((
            issuance_log::idx.eq(idx),
            issuance_log::jti.eq(jti),
            issuance_log::leaf_hash.eq(hex(&leaf)),
            issuance_log::logged_at.eq(at),
        ))
        .execute(conn)?;
    Ok(idx)
}

/// Appends the versions signed before the log existed, in the order they were issued; returns
/// how many.
pub fn backfill(conn: &mut DbConn, at: NaiveDateTime) -> Result<usize, StoreError> {
    // Every version stored since the log began was logged with it: at each start after the
    // first, two counts say there is nothing to look for.
    let versions: i64 = certificate_versions::table.count().get_result(conn)?;
    let logged: i64 = issuance_log::table.count().get_result(conn)?;
    if versions == logged {
        return Ok(0);
    }
    let logged = issuance_log::table.select(issuance_log::jti);
    let unlogged: Vec<(String, String)> = certificate_versions::table
        .filter(certificate_versions::jti.ne_all(logged))
        .order((certificate_versions::issued_at.asc(), certificate_versions::jti.asc()))
        .select((certificate_versions::jti, certificate_versions::token))
        .load(conn)?;
    for (jti, token) in &unlogged {
        append(conn, jti, token, at)?;
    }
    Ok(unlogged.len())
}

/// Leaf hashes from index `from` on, in order, at most `limit`.
pub fn leaves_from(conn: &mut DbConn, from: i64, limit: i64) -> Result<Vec<Hash>, StoreError> {
    let rows: Vec<(i64, String)> = issuance_log::table
        .filter(issuance_log::idx.ge(from))
        .order(issuance_log::idx.asc())
        .limit(limit)
        .select((issuance_log::idx, issuance_log::leaf_hash))
        .load(conn)?;
    rows.into_iter()
        .zip(from..)
        .map(|((idx, hash), expected)| match merkle::from_hex(&hash) {
            Some(leaf) if idx == expected => Ok(leaf),
            _ => Err(StoreError::Corrupt(format!("issuance log entry {expected} is missing or unreadable"))),
        })
        .collect()
}

/// The versions logged from leaf `from` on, at most `limit`, as (leaf index, version `jti`).
pub fn versions_from(conn: &mut DbConn, from: i64, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(issuance_log::table
        .filter(issuance_log::idx.ge(from))
        .order(issuance_log::idx.asc())
        .limit(limit)
        .select((issuance_log::idx, issuance_log::jti))
        .load(conn)?)
}
