//! The restore drill: a residence node loses its database and is restored from an older backup
//! (`hunyu backup` on SQLite, `pg_dump` on PostgreSQL) while its origin keeps its own. Once the
//! restored node serves again, the origin has returned the residence's messages it received after
//! the backup and resent its own, nothing is held twice on either side, and the message the
//! residence wrote before its peer answered is numbered after those the origin already holds.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use hunyu::config::Config;
use hunyu::domain::message::{Inquiry, MessageBody};
use hunyu::node::outbox::Outgoing;
use hunyu::node::{CoreError, NodeCore};
use hunyu::store::schema::messages;
use hunyu::store::{Store, StoreError};

use crate::both_backends;
use crate::helpers::Backend;
use crate::serve::{ServeNode, ServedPair};

/// Longest wait for the two nodes to exchange what is queued.
const SETTLE: Duration = Duration::from_secs(60);

both_backends!(a_restored_node_takes_back_what_it_lost);

async fn a_restored_node_takes_back_what_it_lost(backend: Backend) {
    let mut served = ServedPair::new(backend, 500, "info");
    let (origin, residence) = (served.origin.code.clone(), served.residence.code.clone());
    enqueue(&served.residence.config, &origin, "backed up", 3);
    enqueue(&served.origin.config, &residence, "backed up", 3);
    served.start().await;
    let origin_db = Store::open(&served.origin.config.database_url().unwrap(), 2).unwrap();
    settle(&mut served, &origin_db, 3, 3).await;

    let backup = served.residence.config_path().with_file_name("backup.db");
    back_up(backend, &served.residence, &backup);
    // Exchanged after the backup: what the restore loses.
    enqueue(&served.residence.config, &origin, "lost", 2);
    enqueue(&served.origin.config, &residence, "lost", 2);
    settle(&mut served, &origin_db, 5, 5).await;

    served.residence.kill();
    lose_and_restore(backend, &served.residence, &backup);
    let residence_db = Store::open(&served.residence.config.database_url().unwrap(), 2).unwrap();
    assert_eq!((count(&residence_db, "in"), count(&residence_db, "out")), (3, 3), "the backup's messages");
    // Sent by the origin while the residence was down, and written by the restored residence
    // before the origin has answered it: numbered 4 here, already used by a lost message.
    enqueue(&served.origin.config, &residence, "while down", 1);
    enqueue(&served.residence.config, &origin, "after the restore", 1);
    let written = rows(&residence_db, "out").pop().unwrap();
    assert_eq!(written.seq, 4);
    drop(residence_db);

    served.residence.start(&served.client).await;
    settle(&mut served, &origin_db, 6, 6).await;
    let residence_db = Store::open(&served.residence.config.database_url().unwrap(), 2).unwrap();
    for (from, to) in [(&residence_db, &origin_db), (&origin_db, &residence_db)] {
        let (sent, received) = (rows(from, "out"), rows(to, "in"));
        assert!(received.iter().map(|r| r.seq).eq(1..=6), "{:?}", received.iter().map(|r| r.seq).collect::<Vec<_>>());
        assert_eq!(sent.len(), received.len(), "messages held twice or lost");
        for (sent, received) in sent.iter().zip(&received) {
            assert_eq!((sent.seq, &sent.id, &sent.token), (received.seq, &received.id, &received.token));
            assert!(sent.receipt.is_some() && sent.receipt == received.receipt, "message {}'s receipt", sent.seq);
        }
    }
    let renumbered = rows(&residence_db, "out").into_iter().find(|r| r.id == written.id).unwrap();
    assert_eq!(renumbered.seq, 6, "the message written after the restore follows those the origin holds");
    let restore = residence_db.read(hunyu::store::rejoin::restored_at).unwrap();
    assert_eq!(restore, None, "the restore is complete once its only peer has answered");
    let logs = served.residence.logs();
    assert!(logs.contains("a peer has returned what it holds"), "{logs}");
}

/// Puts `n` inquiries to `to` in the outbox of the node of `config` (the running process delivers
/// them at its next poll).
fn enqueue(config: &Config, to: &str, what: &str, n: usize) {
    let node = NodeCore::open(config).unwrap();
    let now = Utc::now();
    let her = crate::helpers::person_ref("130728199003070026", "张丽");
    let (outbox, to, what) = (node.outbox.clone(), to.to_owned(), what.to_owned());
    node.store
        .write(move |conn| {
            for i in 0..n {
                let question = format!("{what} {i}");
                let body = MessageBody::Inquiry(Inquiry { person: her.clone(), question, urgent: false });
                let due = Some(now.date_naive() + chrono::Days::new(30));
                outbox.enqueue(conn, Outgoing { to: to.clone(), body, in_reply_to: None, due, subject: None }, now)?;
            }
            Ok::<_, CoreError>(())
        })
        .unwrap();
}

/// Waits until the origin holds `from_residence` messages of the residence and `receipted` of its
/// own have their receipts.
async fn settle(served: &mut ServedPair, origin_db: &Store, from_residence: i64, receipted: i64) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let (held, done) = (count(origin_db, "in"), receipted_count(origin_db));
        if held >= from_residence && done >= receipted {
            return;
        }
        assert!(Instant::now() < deadline, "after {SETTLE:?}: the origin holds {held} and has {done} receipts");
        served.assert_running();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A backup of the serving node, as its operator makes one.
fn back_up(backend: Backend, node: &ServeNode, to: &Path) {
    let out = match backend {
        Backend::Sqlite => hunyu(node, &["backup", "--to", to.to_str().unwrap()]),
        Backend::Postgres => Command::new("pg_dump")
            .args(["--format=custom", "--file", to.to_str().unwrap(), &node.config.database.url])
            .output()
            .unwrap(),
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The database is lost; the operator puts the backup in its place with `hunyu restore`.
fn lose_and_restore(backend: Backend, node: &ServeNode, backup: &Path) {
    let out = match backend {
        Backend::Sqlite => {
            let db = node.config.database_url().unwrap().target().to_owned();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::rename(format!("{db}{suffix}"), format!("{db}{suffix}.damaged"));
            }
            hunyu(node, &["restore", "--from", backup.to_str().unwrap()])
        }
        Backend::Postgres => {
            let restored = Command::new("pg_restore")
                .args(["--clean", "--if-exists", "--dbname", &node.config.database.url, backup.to_str().unwrap()])
                .output()
                .unwrap();
            assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
            hunyu(node, &["restore"])
        }
    };
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.contains("audit log intact"), "{said}");
}

/// Runs `hunyu ARGS --config` with the node's config.
fn hunyu(node: &ServeNode, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hunyu")).args(args).arg("--config").arg(node.config_path()).output().unwrap()
}

/// What the assertions compare of a stored message.
#[derive(Debug, Queryable)]
struct Row {
    id: String,
    seq: i64,
    token: String,
    receipt: Option<String>,
}

/// Messages of `direction`, in sequence order.
fn rows(db: &Store, direction: &str) -> Vec<Row> {
    db.read(|conn| {
        Ok::<_, StoreError>(
            messages::table
                .filter(messages::direction.eq(direction))
                .select((messages::id, messages::seq, messages::token, messages::receipt))
                .order(messages::seq.asc())
                .load(conn)?,
        )
    })
    .unwrap()
}

/// Messages of `direction`.
fn count(db: &Store, direction: &str) -> i64 {
    db.read(|conn| {
        Ok::<_, StoreError>(messages::table.filter(messages::direction.eq(direction)).count().get_result(conn)?)
    })
    .unwrap()
}

/// Outgoing messages with their receipt.
fn receipted_count(db: &Store) -> i64 {
    db.read(|conn| {
        Ok::<_, StoreError>(
            messages::table
                .filter(messages::direction.eq("out"))
                .filter(messages::receipt.is_not_null())
                .count()
                .get_result(conn)?,
        )
    })
    .unwrap()
}
