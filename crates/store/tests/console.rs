//! The console's records (CONTRACT §7) on each backend: operators, sessions and their two
//! expiries, the wrong-password lock (per name and per address, race-free), the audit log.

use snapqris_store::{
    Constraint, Entity, LOCK_ADDRESS_AFTER, LOCK_NAME_AFTER, LOGIN_WINDOW, LoginGate,
    NewAuditEntry, Operator, SESSION_IDLE, SESSION_LIFETIME, Store, StoreError, StoreOptions,
};
use snapqris_test_support::{Backend, TestDatabase, on_each_backend};
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-12-07 08:00 UTC);

async fn open(database: &TestDatabase) -> Arc<dyn Store> {
    snapqris_store::connect(database.url(), &StoreOptions::default())
        .await
        .unwrap()
}

fn operator(name: &str) -> Operator {
    Operator {
        name: name.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$hash-of-{name}"),
        created_at: NOW,
    }
}

async fn operators_are_added_once_and_removed_with_their_sessions(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = open(&database).await;
    store.add_operator(&operator("ana")).await.unwrap();
    assert!(matches!(
        store.add_operator(&operator("ana")).await,
        Err(StoreError::Conflict(Constraint::OperatorName))
    ));
    let stored = store.operator("ana").await.unwrap().unwrap();
    assert_eq!(stored.password_hash, operator("ana").password_hash);
    assert_eq!(stored.created_at, NOW);
    assert!(store.operator("bob").await.unwrap().is_none());

    store.start_console_session("s1", "ana", NOW).await.unwrap();
    assert!(matches!(
        store.start_console_session("s2", "bob", NOW).await,
        Err(StoreError::NotFound(Entity::Operator))
    ));
    store.remove_operator("ana").await.unwrap();
    assert!(matches!(
        store.remove_operator("ana").await,
        Err(StoreError::NotFound(Entity::Operator))
    ));
    // Removing an operator ends its sessions at once, on every node.
    let later = NOW + Duration::seconds(1);
    assert_eq!(
        store.touch_console_session("s1", later).await.unwrap(),
        None
    );
}

async fn a_session_ends_after_idle_minutes_or_its_lifetime(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = open(&database).await;
    store.add_operator(&operator("ana")).await.unwrap();
    store
        .start_console_session("busy", "ana", NOW)
        .await
        .unwrap();
    store
        .start_console_session("idle", "ana", NOW)
        .await
        .unwrap();
    assert_eq!(
        store.touch_console_session("none", NOW).await.unwrap(),
        None
    );

    // Touched every 29 minutes, a session lives until its 12 hours are up.
    let step = SESSION_IDLE - Duration::minutes(1);
    let mut at = NOW;
    while at + step < NOW + SESSION_LIFETIME {
        at += step;
        let session = store.touch_console_session("busy", at).await.unwrap();
        let session = session.unwrap_or_else(|| panic!("ended early at {at}"));
        assert_eq!(
            (session.operator.as_str(), session.created_at),
            ("ana", NOW)
        );
        assert_eq!(session.last_seen, at);
    }
    let end = NOW + SESSION_LIFETIME;
    assert_eq!(
        store.touch_console_session("busy", end).await.unwrap(),
        None
    );
    // Once ended it stays ended (its row is gone), even at an earlier time.
    assert_eq!(
        store.touch_console_session("busy", NOW).await.unwrap(),
        None
    );

    // Untouched for 30 minutes: ended.
    let idle_end = NOW + SESSION_IDLE;
    assert_eq!(
        store.touch_console_session("idle", idle_end).await.unwrap(),
        None
    );

    // Logout ends a session at once.
    store
        .start_console_session("out", "ana", NOW)
        .await
        .unwrap();
    assert!(
        store
            .touch_console_session("out", NOW)
            .await
            .unwrap()
            .is_some()
    );
    store.end_console_session("out").await.unwrap();
    assert_eq!(store.touch_console_session("out", NOW).await.unwrap(), None);
}

async fn five_wrong_tries_lock_a_name_for_the_window(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = open(&database).await;
    for i in 0..LOCK_NAME_AFTER {
        let at = NOW + Duration::seconds(i64::from(i));
        let gate = store.admit_login("ana", "10.0.0.1", at).await.unwrap();
        assert_eq!(gate, LoginGate::Admitted, "try {i}");
    }
    let at = NOW + Duration::minutes(1);
    let gate = store.admit_login("ana", "10.0.0.2", at).await.unwrap();
    assert_eq!(gate, LoginGate::NameLocked, "another address does not help");
    // Another name is not locked.
    let gate = store.admit_login("bob", "10.0.0.1", at).await.unwrap();
    assert_eq!(gate, LoginGate::Admitted);
    // A locked attempt is not counted: once the first tries age out, the name opens.
    let open_again = NOW + LOGIN_WINDOW + Duration::seconds(1);
    let gate = store
        .admit_login("ana", "10.0.0.1", open_again)
        .await
        .unwrap();
    assert_eq!(gate, LoginGate::Admitted);

    // A right password clears the name's tries.
    let later = open_again + LOGIN_WINDOW + Duration::minutes(1);
    for _ in 0..LOCK_NAME_AFTER - 1 {
        store.admit_login("cy", "10.0.0.3", later).await.unwrap();
    }
    store.clear_login_failures("cy").await.unwrap();
    for _ in 0..LOCK_NAME_AFTER {
        let gate = store.admit_login("cy", "10.0.0.3", later).await.unwrap();
        assert_eq!(gate, LoginGate::Admitted);
    }
    let gate = store.admit_login("cy", "10.0.0.3", later).await.unwrap();
    assert_eq!(gate, LoginGate::NameLocked);
}

async fn many_names_from_one_address_lock_the_address(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = open(&database).await;
    for i in 0..LOCK_ADDRESS_AFTER {
        let gate = store
            .admit_login(&format!("name-{i}"), "192.0.2.9", NOW)
            .await
            .unwrap();
        assert_eq!(gate, LoginGate::Admitted);
    }
    let gate = store.admit_login("fresh", "192.0.2.9", NOW).await.unwrap();
    assert_eq!(gate, LoginGate::AddressLocked);
    let gate = store.admit_login("fresh", "192.0.2.10", NOW).await.unwrap();
    assert_eq!(gate, LoginGate::Admitted);
}

async fn concurrent_guesses_are_admitted_no_more_than_the_limit(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = open(&database).await;
    // Two stores on one database: two nodes.
    let other = open(&database).await;
    let guesses = (0..20).map(|i| {
        let store = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tokio::spawn(async move {
            store
                .admit_login("ana", &format!("10.1.0.{i}"), NOW)
                .await
                .unwrap()
        })
    });
    let mut admitted = 0;
    for guess in guesses.collect::<Vec<_>>() {
        if guess.await.unwrap() == LoginGate::Admitted {
            admitted += 1;
        }
    }
    assert_eq!(admitted, LOCK_NAME_AFTER);
}

async fn the_audit_log_reads_newest_first_in_pages(backend: Backend) {
    let database = TestDatabase::new(&backend).await;
    let store = open(&database).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let entry = NewAuditEntry {
            operator: "ana".into(),
            action: "merchant.blacklist".into(),
            target: format!("M{i}"),
            detail: format!("reason {i}\twith a tab"),
            at: NOW + Duration::seconds(i),
        };
        ids.push(store.append_audit(&entry).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let page = store.audit_log(3, None).await.unwrap();
    let targets: Vec<&str> = page.iter().map(|e| e.entry.target.as_str()).collect();
    assert_eq!(targets, ["M4", "M3", "M2"]);
    assert_eq!(page[0].entry.detail, "reason 4\twith a tab");
    assert_eq!(page[0].entry.at, NOW + Duration::seconds(4));
    let rest = store.audit_log(3, Some(page[2].id)).await.unwrap();
    let targets: Vec<&str> = rest.iter().map(|e| e.entry.target.as_str()).collect();
    assert_eq!(targets, ["M1", "M0"]);
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    operators_are_added_once_and_removed_with_their_sessions,
    a_session_ends_after_idle_minutes_or_its_lifetime,
    five_wrong_tries_lock_a_name_for_the_window,
    many_names_from_one_address_lock_the_address,
    concurrent_guesses_are_admitted_no_more_than_the_limit,
    the_audit_log_reads_newest_first_in_pages,
);
