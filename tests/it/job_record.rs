//! The job runtime's record in Postgres, written by the paths that own it: a `job_attempts` row
//! per attempt the worker runs, a `dead_letters` row for every job that reaches the dead-letter
//! queue (from the attempt that sent it, or from the mirror job for expired leases), and a
//! `dead_letter_audit` row per `ava dlq` replay or purge (none for a dry run).

use std::time::Duration;

use ava::{
    jobs,
    ops::dlq::{self, DlqCommand, SelectionArgs},
    store::{DeadLetter, DeadLetterAction, DeadLetterAudit, new_log_key},
    worker::Step,
};
use chrono::{DateTime, Utc};
use figment::providers::Serialized;
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path_regex},
};
use workers::{Broker, Clock, Lane, NewJob, Outcome, RedisBroker, system_now_ms};

use crate::harness::TestApp;

/// Steps the worker until a job runs (a retry is due a few ms after the previous attempt).
async fn run_next(app: &TestApp) -> Outcome {
    for _ in 0..50 {
        if let Step::Ran(outcome) = app
            .worker
            .try_execute_one(Duration::from_millis(100))
            .await
            .unwrap()
        {
            return outcome;
        }
    }
    panic!("no job became ready within 5 s");
}

/// Queues one `dead_letter_mirror` job, as the scheduler does each period, and runs it.
async fn mirror(app: &TestApp, broker: &RedisBroker) {
    let tick = serde_json::to_vec(&jobs::Tick {
        at_ms: system_now_ms(),
    })
    .unwrap();
    broker
        .enqueue(NewJob::new(
            jobs::DEAD_LETTER_MIRROR,
            Lane::Low,
            "scheduler:dead_letter_mirror",
            tick,
        ))
        .await
        .unwrap();
    assert_eq!(run_next(app).await, Outcome::Done, "the mirror job succeeds");
    flush(app).await;
}

async fn flush(app: &TestApp) {
    let report = app.worker.log().flush().await;
    assert_eq!((report.held, report.spooled), (0, 0), "{report:?}");
}

type AttemptRow = (
    i32,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

async fn attempts(app: &TestApp, job_id: &str) -> Vec<AttemptRow> {
    sqlx::query_as(
        "SELECT attempt, outcome, error, retry_in_ms, worker, started_at, finished_at
         FROM job_attempts WHERE job_id = $1 ORDER BY attempt",
    )
    .bind(job_id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

type DeadRow = (String, String, String, String, i32, String, Value, bool, bool);

/// (kind, lane, key, class, attempts, status, payload, has first attempt, has last attempt)
async fn dead_letter(app: &TestApp, job_id: &str) -> Option<DeadRow> {
    sqlx::query_as(
        "SELECT kind, lane, job_key, error_class, attempts, status, payload,
                first_attempt_at IS NOT NULL, last_attempt_at IS NOT NULL
         FROM dead_letters WHERE job_id = $1",
    )
    .bind(job_id)
    .fetch_optional(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_retried_job_leaves_one_attempt_row_per_attempt() {
    let app = TestApp::spawn_with(|fig| {
        fig.merge(Serialized::default("queue.backoff_base_ms", 10))
            .merge(Serialized::default("queue.backoff_cap_ms", 20))
    })
    .await;
    // Telegram fails twice (5xx: retry), then the default 200 answers.
    Mock::given(method("POST"))
        .and(path_regex(r"^/bot[^/]+/sendMessage$"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "ok": false, "error_code": 500, "description": "Internal Server Error"
        })))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&app.telegram)
        .await;
    let notice = json!({"update_id": 1, "chat_id": 424242001, "user_id": 424242001, "text": "slow down"});
    app.broker()
        .enqueue(
            NewJob::new(
                ava::jobs::RATE_LIMIT_NOTICE,
                Lane::High,
                "424242001",
                notice.to_string().into_bytes(),
            )
            .with_id("notice-1"),
        )
        .await
        .unwrap();
    assert!(matches!(run_next(&app).await, Outcome::Retry(_)));
    assert!(matches!(run_next(&app).await, Outcome::Retry(_)));
    assert_eq!(run_next(&app).await, Outcome::Done);
    flush(&app).await;

    let rows = attempts(&app, "notice-1").await;
    let summary: Vec<(i32, &str, bool, bool)> = rows
        .iter()
        .map(|(n, outcome, error, retry_in, _, _, _)| {
            (*n, outcome.as_str(), error.is_some(), retry_in.is_some())
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "retry", true, true),
            (2, "retry", true, true),
            (3, "done", false, false)
        ]
    );
    for (n, _, error, retry_in, worker, started, finished) in &rows {
        assert!(worker.is_some(), "attempt {n} names its worker");
        assert!(started <= finished, "attempt {n}: {started} .. {finished}");
        assert!(
            retry_in.is_none_or(|ms| (0..=20).contains(&ms)),
            "attempt {n}: backoff {retry_in:?}"
        );
        if let Some(e) = error {
            assert!(e.contains("500"), "attempt {n}: {e}");
        }
    }
    let (kind, lane, key): (String, String, String) =
        sqlx::query_as("SELECT DISTINCT kind, lane, job_key FROM job_attempts WHERE job_id = 'notice-1'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (kind.as_str(), lane.as_str(), key.as_str()),
        ("rate_limit_notice", "high", "424242001")
    );
    assert!(
        dead_letter(&app, "notice-1").await.is_none(),
        "a job that succeeded is no dead letter"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_permanent_failure_is_an_attempt_and_a_dead_letter_at_once() {
    let app = TestApp::spawn().await;
    let broker = app.broker();
    broker
        .enqueue(
            NewJob::new("no_such_kind", Lane::Normal, "chat-9", br#"{"x": 1}"#.to_vec()).with_id("job-p"),
        )
        .await
        .unwrap();
    assert!(matches!(run_next(&app).await, Outcome::Permanent(_)));
    flush(&app).await;

    let rows = attempts(&app, "job-p").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].0, rows[0].1.as_str()), (1, "permanent"));
    assert!(
        rows[0]
            .2
            .as_deref()
            .is_some_and(|e| e.contains("unknown job kind"))
    );
    let expected = (
        "no_such_kind".to_owned(),
        "normal".to_owned(),
        "chat-9".to_owned(),
        "permanent".to_owned(),
        1,
        "dead".to_owned(),
        json!({"x": 1}),
        true,
        true,
    );
    assert_eq!(
        dead_letter(&app, "job-p").await,
        Some(expected.clone()),
        "recorded by the attempt, before any mirror ran"
    );

    // The mirror brings the row to the queue's own time of death, and adds nothing.
    let (before,): (DateTime<Utc>,) =
        sqlx::query_as("SELECT failed_at FROM dead_letters WHERE job_id = 'job-p'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    mirror(&app, &broker).await;
    mirror(&app, &broker).await;
    let (count, after): (i64, DateTime<Utc>) =
        sqlx::query_as("SELECT count(*), max(failed_at) FROM dead_letters WHERE job_id = 'job-p'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let queued = workers::DeadLetters::new(broker.clone())
        .show("job-p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count, 1);
    assert!(after >= before);
    assert_eq!(
        after.timestamp_millis() as u64,
        queued.dead_at_ms,
        "the queue's time of death"
    );
    assert_eq!(dead_letter(&app, "job-p").await, Some(expected));
    app.cleanup().await;
}

#[tokio::test]
async fn a_job_whose_lease_keeps_expiring_is_mirrored_with_its_last_attempt() {
    let app = TestApp::spawn().await;
    let config = app.settings.queue.to_config();
    // A consumer that leases and dies, on a clock an hour in the past that moves by hand.
    let clock = Clock::manual(system_now_ms() - 3_600_000);
    let dying = app.broker().with_clock(clock.clone());
    dying
        .enqueue(NewJob::new("telegram_update", Lane::Normal, "chat-k", b"{}".to_vec()).with_id("job-k"))
        .await
        .unwrap();
    let mut dead = 0;
    for _ in 0..=config.max_attempts {
        let leased = dying.lease(1).await.unwrap();
        dead += leased.dead_lettered;
        clock.advance(config.lease_duration + Duration::from_millis(1));
    }
    assert_eq!(dead, 1, "dead-lettered after max_attempts expired leases");
    flush(&app).await;
    assert!(
        dead_letter(&app, "job-k").await.is_none(),
        "no attempt ended, so nothing recorded it yet"
    );

    let broker = app.broker();
    mirror(&app, &broker).await;
    let (kind, lane, key, class, attempts_made, status, _, first, last) =
        dead_letter(&app, "job-k").await.expect("mirrored");
    assert_eq!(
        (
            kind.as_str(),
            lane.as_str(),
            key.as_str(),
            class.as_str(),
            status.as_str()
        ),
        ("telegram_update", "normal", "chat-k", "lease_expired", "dead")
    );
    assert_eq!(attempts_made as u32, config.max_attempts);
    assert!(first && last);
    let rows = attempts(&app, "job-k").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].0 as u32, rows[0].1.as_str(), rows[0].4.as_deref()),
        (config.max_attempts, "lease_expired", None),
        "the last attempt, which no worker lived to record"
    );
    mirror(&app, &broker).await;
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM dead_letters")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 1, "mirroring again adds nothing");
    app.cleanup().await;
}

type AuditRow = (String, String, Value, Vec<String>);

async fn audits(app: &TestApp) -> Vec<AuditRow> {
    sqlx::query_as("SELECT action, actor, filter, job_ids FROM dead_letter_audit ORDER BY at, id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn dlq_replay_and_purge_are_audited_and_a_dry_run_is_not() {
    let app = TestApp::spawn().await;
    let s = &app.settings;
    let broker = app.broker();
    for id in ["job-a", "job-b"] {
        broker
            .enqueue(NewJob::new("no_such_kind", Lane::Low, id, b"{}".to_vec()).with_id(id))
            .await
            .unwrap();
        assert!(matches!(run_next(&app).await, Outcome::Permanent(_)));
    }
    flush(&app).await;
    let everything = SelectionArgs {
        all: true,
        ..Default::default()
    };

    let dry = dlq::run(
        s,
        DlqCommand::Purge {
            selection: everything.clone(),
            dry_run: true,
        },
    )
    .await
    .unwrap();
    assert!(dry.contains("would delete 2"), "{dry}");
    assert!(audits(&app).await.is_empty(), "a dry run records nothing");

    let replay = dlq::run(
        s,
        DlqCommand::Replay {
            selection: SelectionArgs {
                ids: vec!["job-a".into()],
                ..Default::default()
            },
            to_lane: Some(Lane::High),
        },
    )
    .await
    .unwrap();
    assert!(
        replay.contains("replayed 1") && replay.contains("audit: replay by cli:"),
        "{replay}"
    );
    let purge = dlq::run(
        s,
        DlqCommand::Purge {
            selection: everything,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(
        purge.contains("deleted 1") && purge.contains("audit: purge by cli:"),
        "{purge}"
    );

    let trail = audits(&app).await;
    assert_eq!(trail.len(), 2, "{trail:?}");
    let (action, actor, filter, ids) = &trail[0];
    assert_eq!(action, "replay");
    assert!(actor.starts_with("cli:"), "{actor}");
    assert_eq!(filter, &json!({"ids": ["job-a"], "to_lane": "high"}));
    assert_eq!(ids, &["job-a"]);
    let (action, _, filter, ids) = &trail[1];
    assert_eq!((action.as_str(), filter), ("purge", &json!({"all": true})));
    assert_eq!(ids, &["job-b"]);

    let status = |id: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>)>(
                "SELECT status, resolved_by FROM dead_letters WHERE job_id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let (a, by) = status("job-a").await;
    assert_eq!(a, "replayed");
    assert!(by.is_some_and(|by| by.starts_with("cli:")));
    assert_eq!(status("job-b").await.0, "purged");
    // The replayed job runs under a new id, fails again, and is a new dead letter.
    assert!(matches!(run_next(&app).await, Outcome::Permanent(_)));
    mirror(&app, &broker).await;
    let (new_id,): (String,) = sqlx::query_as("SELECT job_id FROM dead_letters WHERE status = 'dead'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(new_id != "job-a" && new_id != "job-b", "{new_id}");
    assert_eq!(
        (status("job-a").await.0, status("job-b").await.0),
        ("replayed".into(), "purged".into()),
        "the mirror leaves resolved dead letters alone"
    );

    // A dead letter whose row lands after its replay was audited (a mirror that read the queue
    // just before the replay) takes its status from the audit.
    let log = app.worker.log();
    let now = Utc::now();
    log.record(DeadLetterAudit {
        log_key: new_log_key(),
        action: DeadLetterAction::Replay,
        actor: "cli:late".into(),
        filter: json!({"ids": ["job-late"]}),
        job_ids: vec!["job-late".into()],
        at: now,
    })
    .await;
    flush(&app).await;
    log.record(DeadLetter {
        job_id: "job-late".into(),
        kind: "k".into(),
        lane: "low".into(),
        job_key: "c".into(),
        payload: json!({}),
        error: "e".into(),
        error_class: Some("permanent".into()),
        attempts: 1,
        enqueued_at: None,
        first_attempt_at: None,
        last_attempt_at: None,
        failed_at: now - chrono::Duration::seconds(1),
    })
    .await;
    flush(&app).await;
    assert_eq!(
        status("job-late").await,
        ("replayed".into(), Some("cli:late".into()))
    );
    app.cleanup().await;
}
