//! Persons, certificate lineages, their signed versions and status events.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{certificate_events, certificate_versions, certificates, persons};
use super::{DbConn, StoreError, parse_stored};
use crate::domain::verification::VersionStatus;

/// A person as this node last recorded her.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = persons)]
pub struct PersonRow {
    pub id_number: String,
    pub name: String,
    pub sex: String,
    pub birth_date: NaiveDate,
    pub hukou: String,
    pub ethnicity: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A certificate lineage (all versions share its id).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = certificates)]
pub struct CertificateRow {
    pub id: String,
    pub id_number: String,
    pub created_at: NaiveDateTime,
}

/// One signed version of a certificate.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = certificate_versions)]
pub struct VersionRow {
    pub jti: String,
    pub certificate_id: String,
    pub version: i32,
    pub supersedes: Option<String>,
    pub issued_at: NaiveDateTime,
    pub valid_until: NaiveDate,
    pub token: String,
    pub qr: String,
    pub employer_token: String,
    pub employer_qr: String,
    pub issued_by: String,
}

/// A status change of a version, to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub jti: &'a str,
    pub status: VersionStatus,
    pub reason: Option<&'a str>,
    pub at: NaiveDateTime,
    pub actor: &'a str,
}

/// Inserts the person, or updates what is known of her (created_at is kept).
pub fn save_person(conn: &mut DbConn, person: &PersonRow) -> Result<(), StoreError> {
    let updated = diesel::update(persons::table.find(&person.id_number))
        .set((
            persons::name.eq(&person.name),
            persons::sex.eq(&person.sex),
            persons::birth_date.eq(person.birth_date),
            persons::hukou.eq(&person.hukou),
            persons::ethnicity.eq(&person.ethnicity),
            persons::updated_at.eq(person.updated_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(persons::table).values(person).execute(conn)?;
    }
    Ok(())
}

/// Inserts a new lineage.
pub fn insert_certificate(conn: &mut DbConn, row: &CertificateRow) -> Result<(), StoreError> {
    diesel::insert_into(certificates::table).values(row).execute(conn)?;
    Ok(())
}

/// Inserts a signed version and appends it to the issuance log, in the caller's transaction.
pub fn insert_version(conn: &mut DbConn, row: &VersionRow) -> Result<(), StoreError> {
    diesel::insert_into(certificate_versions::table).values(row).execute(conn)?;
    super::issuance_log::append(conn, &row.jti, &row.token, row.issued_at)?;
    Ok(())
}

/// Appends a status change.
pub fn insert_event(conn: &mut DbConn, event: &NewEvent<'_>) -> Result<(), StoreError> {
    use certificate_events::*;
    diesel::insert_into(table)
        .values((
            jti.eq(event.jti),
            status.eq(event.status.as_str()),
            reason.eq(event.reason),
            at.eq(event.at),
            actor.eq(event.actor),
        ))
        .execute(conn)?;
    Ok(())
}

/// The lineage with this id.
pub fn find_certificate(conn: &mut DbConn, id: &str) -> Result<Option<CertificateRow>, StoreError> {
    Ok(certificates::table.find(id).select(CertificateRow::as_select()).first(conn).optional()?)
}

/// Every lineage of a person.
pub fn certificates_of_person(conn: &mut DbConn, id_number: &str) -> Result<Vec<CertificateRow>, StoreError> {
    Ok(certificates::table
        .filter(certificates::id_number.eq(id_number))
        .select(CertificateRow::as_select())
        .load(conn)?)
}

/// Every version of a lineage, oldest first.
pub fn versions(conn: &mut DbConn, certificate_id: &str) -> Result<Vec<VersionRow>, StoreError> {
    Ok(certificate_versions::table
        .filter(certificate_versions::certificate_id.eq(certificate_id))
        .order(certificate_versions::version.asc())
        .select(VersionRow::as_select())
        .load(conn)?)
}

/// The newest version of a lineage.
pub fn current_version(conn: &mut DbConn, certificate_id: &str) -> Result<Option<VersionRow>, StoreError> {
    Ok(certificate_versions::table
        .filter(certificate_versions::certificate_id.eq(certificate_id))
        .order(certificate_versions::version.desc())
        .select(VersionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Status changes recorded for one version, oldest first (one indexed read).
pub fn statuses(conn: &mut DbConn, jti: &str) -> Result<Vec<VersionStatus>, StoreError> {
    let names: Vec<String> = certificate_events::table
        .filter(certificate_events::jti.eq(jti))
        .order(certificate_events::id.asc())
        .select(certificate_events::status)
        .load(conn)?;
    names.iter().map(|name| parse_stored(name, VersionStatus::parse)).collect()
}

/// The status changes recorded after event `after`, at most `limit`, in order: (event id,
/// version `jti`, status).
pub fn events_after(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, String, VersionStatus)>, StoreError> {
    let rows: Vec<(i64, String, String)> = certificate_events::table
        .filter(certificate_events::id.gt(after))
        .order(certificate_events::id.asc())
        .limit(limit)
        .select((certificate_events::id, certificate_events::jti, certificate_events::status))
        .load(conn)?;
    rows.into_iter().map(|(id, jti, name)| Ok((id, jti, parse_stored(&name, VersionStatus::parse)?))).collect()
}

/// Every version with a recorded status, and that status (for the node's status list).
pub fn recorded_statuses(conn: &mut DbConn) -> Result<Vec<(String, VersionStatus)>, StoreError> {
    let rows: Vec<(String, String)> = certificate_events::table
        .select((certificate_events::jti, certificate_events::status))
        .distinct()
        .order(certificate_events::jti.asc())
        .load(conn)?;
    rows.into_iter().map(|(jti, name)| Ok((jti, parse_stored(&name, VersionStatus::parse)?))).collect()
}

/// Status changes of every version of a lineage, oldest first, as (version `jti`, status).
pub fn statuses_of_certificate(
    conn: &mut DbConn,
    certificate_id: &str,
) -> Result<Vec<(String, VersionStatus)>, StoreError> {
    let rows: Vec<(String, String)> = certificate_events::table
        .inner_join(certificate_versions::table)
        .filter(certificate_versions::certificate_id.eq(certificate_id))
        .order(certificate_events::id.asc())
        .select((certificate_events::jti, certificate_events::status))
        .load(conn)?;
    rows.into_iter().map(|(jti, name)| Ok((jti, parse_stored(&name, VersionStatus::parse)?))).collect()
}

/// The status changes recorded for version `jti`, oldest first, if this node issued it (one
/// indexed read: a verification asks it only of a version not yet held in memory).
pub fn recorded(conn: &mut DbConn, jti: &str) -> Result<Option<Vec<VersionStatus>>, StoreError> {
    let rows: Vec<Option<String>> = certificate_versions::table
        .left_join(certificate_events::table)
        .filter(certificate_versions::jti.eq(jti))
        .order(certificate_events::id.asc())
        .select(certificate_events::status.nullable())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(None);
    }
    rows.iter().flatten().map(|name| parse_stored(name, VersionStatus::parse)).collect::<Result<_, _>>().map(Some)
}

/// ID number of the holder of a certificate version.
pub fn holder_of_version(conn: &mut DbConn, jti: &str) -> Result<Option<String>, StoreError> {
    Ok(certificate_versions::table
        .inner_join(certificates::table)
        .filter(certificate_versions::jti.eq(jti))
        .select(certificates::id_number)
        .first(conn)
        .optional()?)
}

/// Number of rows in each table that issuance writes (tests check that refused input writes none).
pub fn row_counts(conn: &mut DbConn) -> Result<[i64; 4], StoreError> {
    Ok([
        persons::table.count().get_result(conn)?,
        certificates::table.count().get_result(conn)?,
        certificate_versions::table.count().get_result(conn)?,
        certificate_events::table.count().get_result(conn)?,
    ])
}
