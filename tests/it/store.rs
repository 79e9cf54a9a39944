//! The store under writers of more than one process.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use chrono::Utc;
use hunyu::contract::Contract;
use hunyu::domain::calendar::local_date;
use hunyu::domain::message::Direction;
use hunyu::domain::message::{Inquiry, MessageBody, inquiry_due};
use hunyu::domain::role::Role;
use hunyu::node::outbox::{Outbox, Outgoing};
use hunyu::seal::Ed25519Signer;
use hunyu::store::audit::{self, NewAudit};
use hunyu::store::messages;
use hunyu::store::{DatabaseUrl, Store, StoreError, api_keys};

use crate::both_backends;
use crate::helpers::{Backend, PgDatabase, id_number, person_ref};

both_backends!(a_write_that_reads_first_waits_for_another_writer);
both_backends!(writers_of_two_processes_append_to_one_audit_chain);
both_backends!(messages_to_a_peer_are_numbered_on_from_those_stored_and_a_rejoin_s_floor);

/// Two stores on one database, as two processes (`serve` and a `keys create`, two `serve`s) have:
/// a write that reads before it writes, while the other commits in between, waits for the other's
/// write lock under the busy timeout instead of failing at once with "database is locked".
async fn a_write_that_reads_first_waits_for_another_writer(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pg = (backend == Backend::Postgres).then(PgDatabase::create);
    let url =
        pg.as_ref().map_or_else(|| format!("sqlite://{}", dir.path().join("node.db").display()), |db| db.url.clone());
    let url = DatabaseUrl::parse(&url).unwrap();
    let (first, second) = (Store::open(&url, 2).unwrap(), Store::open(&url, 2).unwrap());
    let (go, gone) = mpsc::channel();
    let (done, finished) = mpsc::channel();
    let other = std::thread::spawn(move || {
        gone.recv().unwrap();
        let written = second.write(|conn| api_keys::create(conn, Role::Worker, "other", Utc::now().naive_utc(), None));
        done.send(written.map(drop)).unwrap();
    });
    let read_then_written = first.write(move |conn| {
        api_keys::list(conn)?;
        go.send(()).unwrap();
        // The other process commits now if it can (on SQLite it cannot: this transaction holds
        // the write lock from its start).
        let early = finished.recv_timeout(Duration::from_millis(500)).ok();
        api_keys::create(conn, Role::Officer, "first", Utc::now().naive_utc(), None)?;
        Ok::<_, StoreError>((early, finished))
    });
    let (early, finished) = read_then_written.expect("a write that read first failed under another writer");
    early.unwrap_or_else(|| finished.recv_timeout(Duration::from_secs(15)).unwrap()).unwrap();
    other.join().unwrap();
    let keys = first.read(api_keys::list).unwrap();
    assert_eq!(keys.len(), 2);
}

/// On SQLite the audit log's `seq` is the table's rowid (`INTEGER PRIMARY KEY`): no second B-tree
/// of seq is written per entry, and the chain is read in the table's own order.
#[test]
fn the_sqlite_audit_log_is_kept_in_chain_order() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("node.db").display())).unwrap();
    let store = Store::open(&url, 1).unwrap();
    let count = |sql: &'static str| {
        store.read(move |conn| diesel::sql_query(sql).get_result::<Count>(conn).map_err(StoreError::from)).unwrap().n
    };
    // A rowid table has no index of origin 'pk'; a BIGINT primary key has one.
    assert_eq!(count("SELECT count(*) AS n FROM pragma_index_list('audit_log') WHERE origin = 'pk'"), 0);
    assert_eq!(count("SELECT count(*) AS n FROM pragma_index_list('audit_log')"), 2, "by actor and by action");
}

/// Two stores on one database, each with its own writer thread, append audit entries at once: the
/// write lock each batch takes when it begins (SQLite's, or the chain's on PostgreSQL) keeps one
/// chain, every entry in it once, and no append refused.
async fn writers_of_two_processes_append_to_one_audit_chain(backend: Backend) {
    const PER_THREAD: usize = 150;
    let dir = tempfile::tempdir().unwrap();
    let pg = (backend == Backend::Postgres).then(PgDatabase::create);
    let url =
        pg.as_ref().map_or_else(|| format!("sqlite://{}", dir.path().join("node.db").display()), |db| db.url.clone());
    let url = DatabaseUrl::parse(&url).unwrap();
    let stores = [Arc::new(Store::open(&url, 2).unwrap()), Arc::new(Store::open(&url, 2).unwrap())];
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let store = stores[t % 2].clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let entry = NewAudit {
                        at: Utc::now().naive_utc(),
                        request_id: format!("{t}-{i}"),
                        actor: format!("writer-{t}"),
                        role: "worker".into(),
                        action: "verify",
                        subject: None,
                        object: None,
                        purpose: String::new(),
                        outcome: "active".into(),
                    };
                    store.audit(vec![entry]).expect("an audit entry was refused under another writer");
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let report = stores[0].read(audit::verify_chain).unwrap().expect("the chain of two writers breaks");
    assert_eq!(report.entries, 6 * PER_THREAD as i64);
}

/// Messages to a peer are numbered on from the last recorded, many in one transaction as one
/// (an import, the benchmark's outbox) with the peer's number recorded once, and on from a floor
/// a rejoin records; received ones are numbered apart.
async fn messages_to_a_peer_are_numbered_on_from_those_stored_and_a_rejoin_s_floor(backend: Backend) {
    const PEER: &str = "440306001000";
    let dir = tempfile::tempdir().unwrap();
    let pg = (backend == Backend::Postgres).then(PgDatabase::create);
    let url =
        pg.as_ref().map_or_else(|| format!("sqlite://{}", dir.path().join("node.db").display()), |db| db.url.clone());
    let store = Store::open(&DatabaseUrl::parse(&url).unwrap(), 2).unwrap();
    let signer = Arc::new(Ed25519Signer::ephemeral("130728102000").unwrap());
    let outbox = Outbox::new("130728102000", signer, Arc::new(Contract::new().unwrap()));
    let now = Utc::now();
    let inquiry = move |n: u32, to: &str| Outgoing {
        to: to.into(),
        body: MessageBody::Inquiry(Inquiry {
            person: person_ref(&id_number("130728", "19900101", n, true), "测试"),
            question: "请核实".into(),
            urgent: false,
        }),
        in_reply_to: None,
        due: Some(inquiry_due(local_date(now), false)),
        subject: None,
    };
    let send = |outs: Vec<Outgoing>| {
        let outbox = outbox.clone();
        let rows = store.write(move |conn| outbox.enqueue_all(conn, outs, now)).unwrap();
        rows.into_iter().map(|row| (row.peer, row.seq)).collect::<Vec<_>>()
    };
    let first = send((0..1_000).map(|n| inquiry(n, PEER)).collect());
    assert_eq!(first, (1..=1_000).map(|seq| (PEER.to_owned(), seq)).collect::<Vec<_>>());
    // Another peer has numbers of its own, in the same transaction.
    let mixed = send(vec![inquiry(1, PEER), inquiry(2, "110101001000"), inquiry(3, PEER)]);
    assert_eq!(mixed, [(PEER.into(), 1_001), ("110101001000".into(), 1), (PEER.into(), 1_002)]);
    // A rejoin renumbered past what is recorded here; a message received is counted apart.
    store
        .write(|conn| {
            messages::set_last_seq(conn, PEER, Direction::Out, 2_500)?;
            messages::set_last_seq(conn, PEER, Direction::In, 7)
        })
        .unwrap();
    let out = inquiry(4, PEER);
    let one = store.write(move |conn| outbox.enqueue(conn, out, now)).unwrap();
    assert_eq!(one.seq, 2_501);
    let last = |direction| store.read(move |conn| messages::last_seq(conn, PEER, direction)).unwrap();
    assert_eq!((last(Direction::Out), last(Direction::In)), (2_501, 7));
}
