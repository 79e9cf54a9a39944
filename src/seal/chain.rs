//! The audit log's hash chain and the keyed hash that names a person in it without her ID number.

use chrono::NaiveDateTime;
use ring::{digest, hmac};

use super::hex;

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The way entries written now are hashed: see [`entry_hash`].
pub const CURRENT_FORMAT: i16 = 2;

/// The fields of an audit entry that its hash covers.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub seq: i64,
    /// UTC, at microsecond precision (what both databases keep).
    pub at: NaiveDateTime,
    pub request_id: &'a str,
    pub actor: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub subject: Option<&'a str>,
    pub object: Option<&'a str>,
    pub purpose: &'a str,
    pub outcome: &'a str,
    /// How the hash is computed ([`CURRENT_FORMAT`] for new entries).
    pub format: i16,
}

/// SHA-256 (hex) of the previous hash and the entry's fields. Format 2 (entries written now)
/// gives each field as a presence byte, its length (8 bytes, big-endian) and its bytes, after the
/// format itself, so that no field's content can pass for another's; format 1 (entries written
/// before) joined them with U+001F, which a field could hold.
pub fn entry_hash(prev_hash: &str, entry: &Entry<'_>) -> String {
    let at = entry.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let seq = entry.seq.to_string();
    let fields = [
        Some(prev_hash),
        Some(seq.as_str()),
        Some(at.as_str()),
        Some(entry.request_id),
        Some(entry.actor),
        Some(entry.role),
        Some(entry.action),
        entry.subject,
        entry.object,
        Some(entry.purpose),
        Some(entry.outcome),
    ];
    let preimage = if entry.format == 1 {
        fields.map(|field| field.unwrap_or("")).join("\u{1f}").into_bytes()
    } else {
        let mut bytes = entry.format.to_be_bytes().to_vec();
        for field in fields {
            bytes.push(u8::from(field.is_some()));
            let field = field.unwrap_or_default().as_bytes();
            bytes.extend_from_slice(&(field.len() as u64).to_be_bytes());
            bytes.extend_from_slice(field);
        }
        bytes
    };
    hex(digest::digest(&digest::SHA256, &preimage).as_ref())
}

/// The first place where a stored chain is not what was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry #{seq}: {problem}")]
pub struct ChainBreak {
    pub seq: i64,
    pub problem: String,
}

/// Walks stored entries in `seq` order from `start` (the seq and hash the walk continues from),
/// checking numbering, links and hashes; returns the new head.
pub fn check<'a>(
    start: (i64, String),
    entries: impl IntoIterator<Item = (Entry<'a>, &'a str, &'a str)>,
) -> Result<(i64, String), ChainBreak> {
    let (mut seq, mut head) = start;
    for (entry, prev_hash, hash) in entries {
        let broken = |problem: String| ChainBreak { seq: entry.seq, problem };
        if entry.seq != seq + 1 {
            return Err(broken(format!("entries #{} to #{} are missing", seq + 1, entry.seq - 1)));
        }
        if prev_hash != head {
            return Err(broken("does not link to the entry before it".into()));
        }
        if !(1..=CURRENT_FORMAT).contains(&entry.format) {
            return Err(broken(format!("has unknown chain format {}", entry.format)));
        }
        if entry_hash(prev_hash, &entry) != hash {
            return Err(broken("was changed after it was written".into()));
        }
        (seq, head) = (entry.seq, hash.to_owned());
    }
    Ok((seq, head))
}

/// The name of a person in the audit log: HMAC-SHA256 of her ID number under the node's audit key,
/// so entries about one person can be found without the log holding any ID number.
pub fn subject_key(audit_key: &[u8], id_number: &str) -> String {
    hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, audit_key), id_number.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64) -> Entry<'static> {
        Entry {
            seq,
            at: chrono::DateTime::from_timestamp(1_767_578_400 + seq, 0).unwrap().naive_utc(),
            request_id: "r",
            actor: "k",
            role: "worker",
            action: "verify",
            subject: Some("s"),
            object: None,
            purpose: "查验",
            outcome: "active",
            format: CURRENT_FORMAT,
        }
    }

    fn chain(n: i64) -> Vec<(Entry<'static>, String, String)> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let hash = entry_hash(&prev, &entry(seq));
                let row = (entry(seq), prev.clone(), hash.clone());
                prev = hash;
                row
            })
            .collect()
    }

    fn walk(rows: &[(Entry<'static>, String, String)]) -> Result<(i64, String), ChainBreak> {
        check((0, GENESIS.into()), rows.iter().map(|(e, p, h)| (*e, p.as_str(), h.as_str())))
    }

    #[test]
    fn honest_chain_checks_and_every_tampering_is_named() {
        let rows = chain(5);
        assert_eq!(walk(&rows).unwrap().0, 5);
        let mut edited = rows.clone();
        edited[2].0.outcome = "revoked";
        assert_eq!(walk(&edited).unwrap_err().seq, 3);
        let mut deleted = rows.clone();
        deleted.remove(1);
        assert_eq!(walk(&deleted).unwrap_err().seq, 3);
        let mut relinked = rows;
        relinked[3].1 = GENESIS.into();
        assert_eq!(walk(&relinked).unwrap_err().seq, 4);
    }

    #[test]
    fn format_two_keeps_fields_apart() {
        let shifted = |request_id, actor| Entry { request_id, actor, ..entry(1) };
        // Format 1 joins with U+001F, so moving a separator between fields keeps the hash.
        let old = |e: Entry<'static>| entry_hash(GENESIS, &Entry { format: 1, ..e });
        assert_eq!(old(shifted("r\u{1f}k", "")), old(shifted("r", "k\u{1f}")));
        assert_ne!(entry_hash(GENESIS, &shifted("r\u{1f}k", "")), entry_hash(GENESIS, &shifted("r", "k\u{1f}")));
        let none = Entry { object: None, ..entry(1) };
        let empty = Entry { object: Some(""), ..entry(1) };
        assert_eq!(old(none), old(empty));
        assert_ne!(entry_hash(GENESIS, &none), entry_hash(GENESIS, &empty));
        // A chain begun before format 2 still checks, old entries by the old rule.
        let first = Entry { format: 1, ..entry(1) };
        let first_hash = entry_hash(GENESIS, &first);
        let second_hash = entry_hash(&first_hash, &entry(2));
        let mixed = [(first, GENESIS, first_hash.as_str()), (entry(2), first_hash.as_str(), second_hash.as_str())];
        assert_eq!(check((0, GENESIS.into()), mixed).unwrap(), (2, second_hash.clone()));
        let mut rows = chain(2);
        rows[1].0.format = 9;
        assert_eq!(walk(&rows).unwrap_err().problem, "has unknown chain format 9");
    }

    #[test]
    fn subjects_are_keyed() {
        assert_ne!(subject_key(b"a", "130728199003070026"), subject_key(b"b", "130728199003070026"));
        assert_eq!(subject_key(b"a", "x").len(), 64);
    }
}
