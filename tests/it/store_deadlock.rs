//! Several log writers upserting the same users at once, for a while: no batch deadlocks its way
//! into the spool, no row is refused, and every user ends with the newest `last_seen` written.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use ava::store::{LogWriter, Spool, UserBlocked, UserSeen};
use chrono::{DateTime, Utc};
use figment::providers::Serialized;
use rand::seq::SliceRandom;
use tokio::sync::Mutex;

use crate::harness::TestApp;

const WRITERS: usize = 3;
const USERS: i64 = 40;
const RUN: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_batches_upserting_the_same_users_neither_deadlock_nor_spool() {
    let app = TestApp::spawn_with(|fig| {
        fig.merge(Serialized::default("store.batch_rows", 200))
            .merge(Serialized::default("store.flush_interval_ms", 5))
            .merge(Serialized::default("store.write_concurrency", 4))
    })
    .await;
    let deadlocks_before = deadlocks(&app).await;
    let spool = Spool::new(
        app.backends.redis.clone(),
        &app.settings.redis.prefix,
        1_000_000,
        u64::MAX,
    );
    // Each writer as in its own process: its own Redis handle and Postgres pool.
    let mut writers: Vec<LogWriter> = Vec::new();
    for _ in 0..WRITERS {
        writers.push(crate::harness::backends(&app.settings).await.log);
    }

    // The newest seen_at per user, as written by anyone.
    let newest: Arc<Mutex<HashMap<i64, DateTime<Utc>>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let mut producers = Vec::new();
    for log in &writers {
        for _ in 0..2 {
            let (log, newest, stop, written) = (log.clone(), newest.clone(), stop.clone(), written.clone());
            producers.push(tokio::spawn(async move {
                let mut users: Vec<i64> = (1..=USERS).collect();
                while !stop.load(Ordering::Relaxed) {
                    users.shuffle(&mut rand::rng());
                    for &user_id in &users {
                        let seen_at = Utc::now();
                        log.record(UserSeen {
                            user_id,
                            username: Some(format!("u{user_id}")),
                            first_name: Some("T".into()),
                            language_code: None,
                            seen_at,
                        })
                        .await;
                        let mut newest = newest.lock().await;
                        let at = newest.entry(user_id).or_insert(seen_at);
                        *at = (*at).max(seen_at);
                    }
                    // A block now and then: an UPDATE of users after the upsert in the same batch.
                    log.record(UserBlocked {
                        user_id: users[0],
                        at: Utc::now() - chrono::Duration::days(1),
                    })
                    .await;
                    written.fetch_add(USERS as u64 + 1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            }));
        }
    }
    // Watches the spool the whole time: one spooled batch fails the test.
    let watcher = tokio::spawn({
        let (spool, stop) = (spool.clone(), stop.clone());
        async move {
            let mut most = 0;
            while !stop.load(Ordering::Relaxed) {
                most = most.max(spool.spooled_rows().await.expect("spool length"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            most
        }
    });
    tokio::time::sleep(RUN).await;
    stop.store(true, Ordering::Relaxed);
    for p in producers {
        p.await.expect("producer");
    }
    let most_spooled = watcher.await.expect("watcher");
    for log in &writers {
        let report = log.flush().await;
        assert_eq!((report.spooled, report.held), (0, 0), "{report:?}");
        assert!(
            report.postgres_up,
            "a writer thought Postgres was down: {report:?}"
        );
    }
    let deadlocks = deadlocks(&app).await - deadlocks_before;
    println!(
        "{} rows from {WRITERS} writers in {RUN:?}; Postgres deadlocks meanwhile (whole server): {deadlocks}",
        written.load(Ordering::Relaxed)
    );
    assert_eq!(most_spooled, 0, "a batch went to the spool while Postgres was up");
    let (rejected,): (i64,) = sqlx::query_as("SELECT count(*) FROM rejected_rows")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rejected, 0, "Postgres refused rows");
    let rows: Vec<(i64, DateTime<Utc>)> =
        sqlx::query_as("SELECT user_id, last_seen FROM users ORDER BY user_id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let newest = newest.lock().await;
    assert_eq!(rows.len(), USERS as usize);
    for (user_id, last_seen) in rows {
        // Postgres keeps microseconds.
        let expected = newest[&user_id];
        assert!(
            (last_seen - expected).num_microseconds().unwrap().abs() <= 1,
            "user {user_id}: last_seen {last_seen}, newest written {expected}"
        );
    }
    app.cleanup().await;
}

async fn deadlocks(app: &TestApp) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            .fetch_one(&app.db)
            .await
            .unwrap();
    n
}
