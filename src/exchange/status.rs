//! Fetching status lists: each node signs the list of its versions no longer in force; every
//! other node caches the lists of the directory's nodes (in the core's
//! [`StatusCache`](crate::node::StatusCache)), so that it knows of revocations and renewals of
//! certificates whose holders never registered with it. Lists are fetched over the pinned peer
//! channel, so node-to-node trust never depends on how a node's public API is served.

use super::client::{PeerClient, STATUS_LIST_PATH};
use crate::contract::Kind;
use crate::domain::claims::{STATUS_LIST_TYP, StatusListClaims};
use crate::domain::directory::NodeStatus;
use crate::domain::error::Coded as _;
use crate::node::NodeCore;
use crate::seal::jws::MAX_STATUS_LIST_LEN;
use crate::seal::records::open_record;

/// Checks a status list of `issuer` against the trust in use and reads it.
fn open_list(core: &NodeCore, issuer: &str, token: &str) -> Result<StatusListClaims, String> {
    let claims: StatusListClaims =
        open_record(token, STATUS_LIST_TYP, Kind::StatusList, &core.trust.current(), &core.contract)
            .map_err(|r| r.code().to_owned())?;
    if claims.iss != issuer {
        return Err(format!("list of {} served by {issuer}", claims.iss));
    }
    Ok(claims)
}

/// Fetches the status list of every other active node of the directory; returns how many were
/// taken. A node that cannot be reached keeps its previous list.
pub async fn refresh_all(core: &NodeCore, peers: &PeerClient) -> usize {
    let trust = core.trust.current();
    let mut taken = 0;
    for entry in trust.nodes().filter(|n| n.status == NodeStatus::Active && n.code != core.code()) {
        let url = &entry.peer_url;
        let fetched = match peers.get(entry, STATUS_LIST_PATH).await {
            Ok(response) if response.status().is_success() => super::read_capped(response, MAX_STATUS_LIST_LEN)
                .await
                .and_then(|body| String::from_utf8(body).map_err(|_| "not UTF-8".into())),
            Ok(response) => Err(format!("answered {}", response.status())),
            Err(e) => Err(e),
        };
        match fetched.and_then(|token| open_list(core, &entry.code, &token).map(|list| (list, token))) {
            Ok((list, token)) => match core.statuses.replace(list, &token) {
                Ok(()) => taken += 1,
                Err(older) => tracing::warn!(node = %entry.code, %url, error = %older, "status list refused"),
            },
            Err(error) => tracing::warn!(node = %entry.code, %url, %error, "status list not refreshed"),
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Utc;

    use super::*;
    use crate::domain::access::Action;
    use crate::domain::role::Role;
    use crate::domain::verification::{StatusEvidence, VersionStatus};
    use crate::node::testing::{actor, origin_and_residence, sample_draft};
    use crate::seal::jws::MAX_TOKEN_LEN;
    use crate::service::certificates::{issue, renew, status_list};

    /// Renewals made at the origin, each leaving a superseded version on its status list.
    const RENEWALS: usize = 2_500;

    #[test]
    fn a_list_of_thousands_of_versions_opens_at_a_peer_with_every_entry() {
        let (_registry, origin, residence) = origin_and_residence();
        let officer = actor(&origin, Role::Officer, Action::RenewCertificate);
        let first = issue(&origin, sample_draft(0), &officer, Utc::now()).unwrap();
        let mut superseded = Vec::with_capacity(RENEWALS);
        let mut current = first.jti;
        for _ in 0..RENEWALS {
            let next = renew(&origin, &first.certificate_id, None, &officer, Utc::now()).unwrap();
            superseded.push(std::mem::replace(&mut current, next.jti));
        }
        let token = status_list(&origin, Utc::now()).unwrap();
        assert!(token.len() > 4 * MAX_TOKEN_LEN, "a list of {RENEWALS} entries is {} bytes", token.len());
        assert!(token.len() < MAX_STATUS_LIST_LEN);

        let list = open_list(&residence, origin.code(), &token).unwrap();
        assert_eq!(list.entries.len(), RENEWALS);
        residence.statuses.replace(list, &token).unwrap();
        for jti in &superseded {
            let (statuses, evidence) = residence.statuses.listed(origin.code(), jti);
            assert_eq!(statuses, [VersionStatus::Superseded], "{jti}");
            assert!(matches!(evidence, StatusEvidence::StatusList { .. }));
        }
        assert!(residence.statuses.listed(origin.code(), &current).0.is_empty(), "the newest is in force");
    }
}
