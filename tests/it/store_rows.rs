//! Every kind of log row reaches Postgres through the batched writer, and replaying rows (as a
//! spool re-flush does) never writes one twice.

use std::time::Duration;

use ava::{
    store::{
        ConversationTransition, DeadLetter, DeadLetterAction, DeadLetterAudit, JobAttempt, LogRow,
        RateLimitViolation, Spool, UserBlocked, new_log_key,
    },
    worker::Step,
};
use chrono::{DateTime, Duration as Days, Utc};
use serde_json::{Value, json};
use workers::Outcome;

use wiremock::{
    Mock, ResponseTemplate,
    matchers::{body_partial_json, method, path_regex},
};

use crate::harness::{SECRET, TestApp, fixture};

/// A spool handle on the app's own Redis keys, as another process would see them.
async fn spool_of(app: &TestApp) -> Spool {
    let redis = workers::RedisConn::connect_url(&crate::harness::redis_url())
        .await
        .expect("Redis is reachable");
    Spool::new(redis, &app.settings.redis.prefix, 1_000)
}

#[tokio::test]
async fn an_update_through_the_worker_logs_message_user_and_reply() {
    let app = TestApp::spawn().await;

    assert_eq!(
        app.post_update(fixture("message_start.json"), Some(SECRET)).await,
        200
    );
    assert_eq!(
        app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap(),
        Step::Ran(Outcome::Done)
    );
    let report = app.worker.log().flush().await;
    assert_eq!((report.spooled, report.held, report.postgres_up), (0, 0, true));

    let fixture: Value = serde_json::from_slice(&fixture("message_start.json")).unwrap();
    let update_id = fixture["update_id"].as_i64().unwrap();
    let from = &fixture["message"]["from"];
    type MessageRow = (
        i64,
        Option<i64>,
        String,
        String,
        Option<String>,
        Option<String>,
        Value,
    );
    let (chat_id, user_id, kind, lane, text, command, raw): MessageRow = sqlx::query_as(
        "SELECT chat_id, user_id, kind, lane, text, command, raw FROM message_log WHERE update_id = $1",
    )
    .bind(update_id)
    .fetch_one(&app.db)
    .await
    .expect("message_log row");
    assert_eq!(
        Some(chat_id),
        fixture["message"]["chat"]["id"].as_i64().map(Some).unwrap()
    );
    assert_eq!(user_id, from["id"].as_i64());
    assert_eq!((kind.as_str(), lane.as_str()), ("message", "normal"));
    assert_eq!(text.as_deref(), fixture["message"]["text"].as_str());
    assert_eq!(command.as_deref(), Some("start"), "the command is named");
    assert_eq!(raw, fixture, "raw update stored as received");

    type Timing = (
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let (received, enqueued, started, finished): Timing = sqlx::query_as(
        "SELECT received_at, enqueued_at, started_at, finished_at FROM message_log WHERE update_id = $1",
    )
    .bind(update_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (enqueued, started, finished) = (enqueued.unwrap(), started.unwrap(), finished.unwrap());
    assert!(received <= enqueued && enqueued <= started && started <= finished);
    let (outcome, attempts, worker): (Option<String>, i32, Option<String>) =
        sqlx::query_as("SELECT outcome, attempts, worker FROM message_log WHERE update_id = $1")
            .bind(update_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(outcome.as_deref(), Some("done"));
    assert!(attempts >= 1, "attempts {attempts}");
    assert!(worker.is_some_and(|w| !w.is_empty()));

    let (username, first_seen, last_seen, blocked): (Option<String>, DateTime<Utc>, DateTime<Utc>, bool) =
        sqlx::query_as("SELECT username, first_seen, last_seen, blocked FROM users WHERE user_id = $1")
            .bind(from["id"].as_i64().unwrap())
            .fetch_one(&app.db)
            .await
            .expect("users row for the sender");
    assert_eq!(username.as_deref(), Some("dana_trades"));
    assert!(first_seen <= last_seen && !blocked);

    type Outbound = (
        String,
        String,
        Value,
        Option<i64>,
        String,
        Option<String>,
        Option<i32>,
        Option<String>,
    );
    let (log_key, method, payload, message_id, status, error, latency_ms, _sent_at): Outbound =
        sqlx::query_as(
            "SELECT log_key, method, payload, message_id, status, error, latency_ms, sent_at::text
         FROM outbound_log WHERE update_id = $1",
        )
        .bind(update_id)
        .fetch_one(&app.db)
        .await
        .expect("outbound_log row");
    assert_eq!(log_key.len(), 32);
    assert_eq!((method.as_str(), status.as_str()), ("sendMessage", "sent"));
    assert_eq!(payload["chat_id"], chat_id);
    assert_eq!((message_id, error), (Some(77), None));
    assert!(latency_ms.is_some());

    app.cleanup().await;
}

#[tokio::test]
async fn every_other_row_kind_is_written_and_a_replay_writes_nothing_twice() {
    let app = TestApp::spawn().await;
    let log = app.worker.log();
    let now = Utc::now();

    let transition = ConversationTransition {
        log_key: new_log_key(),
        chat_id: 42,
        update_id: Some(7),
        from_state: "Idle".into(),
        to_state: "AwaitingTicker".into(),
        event: "command:/analyze".into(),
        at: now,
    };
    let attempts = [1, 2].map(|n| JobAttempt {
        job_id: "job-1".into(),
        attempt: n,
        kind: "telegram_update".into(),
        lane: "normal".into(),
        job_key: "chat:42".into(),
        worker: Some("w-1".into()),
        started_at: now,
        finished_at: now + Days::milliseconds(30),
        outcome: if n == 1 { "retry" } else { "permanent" }.into(),
        error: Some("boom".into()),
        retry_in_ms: (n == 1).then_some(2_000),
    });
    let dead = ["job-1", "job-2"].map(|id| DeadLetter {
        job_id: id.into(),
        kind: "telegram_update".into(),
        lane: "normal".into(),
        job_key: "chat:42".into(),
        payload: json!({"update_id": 7}),
        error: "boom".into(),
        error_class: Some("retries_exhausted".into()),
        attempts: 2,
        enqueued_at: Some(now - Days::seconds(5)),
        first_attempt_at: Some(now - Days::seconds(4)),
        last_attempt_at: Some(now - Days::seconds(1)),
        failed_at: now,
    });
    let replay = DeadLetterAudit {
        log_key: new_log_key(),
        action: DeadLetterAction::Replay,
        actor: "cli:ops".into(),
        filter: json!({"kind": "telegram_update", "older_than": "1h"}),
        job_ids: vec!["job-1".into()],
        at: now + Days::seconds(1),
    };
    let violation = RateLimitViolation {
        log_key: new_log_key(),
        at: now,
        scope: "telegram_429".into(),
        chat_id: Some(42),
        method: Some("sendMessage".into()),
        retry_after_ms: Some(3_000),
        detail: Some("Too Many Requests: retry after 3".into()),
    };
    let user = ava::store::UserSeen {
        user_id: 42,
        username: Some("trader".into()),
        first_name: Some("T".into()),
        language_code: Some("en".into()),
        seen_at: now,
    };
    let blocked = UserBlocked {
        user_id: 42,
        at: now + Days::seconds(2),
    };

    let rows: Vec<LogRow> = vec![
        transition.into(),
        attempts[0].clone().into(),
        attempts[1].clone().into(),
        dead[0].clone().into(),
        dead[1].clone().into(),
        replay.into(),
        violation.into(),
        user.into(),
        blocked.into(),
    ];
    for row in rows.clone() {
        log.record(row).await;
    }
    assert_eq!(log.flush().await.spooled, 0);

    let counts = || async {
        let mut counts = Vec::new();
        for table in [
            "conversation_transitions",
            "job_attempts",
            "dead_letters",
            "dead_letter_audit",
            "rate_limit_violations",
            "users",
        ] {
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&app.db)
                .await
                .unwrap();
            counts.push((table, n));
        }
        counts
    };
    let expected = vec![
        ("conversation_transitions", 1),
        ("job_attempts", 2),
        ("dead_letters", 2),
        ("dead_letter_audit", 1),
        ("rate_limit_violations", 1),
        ("users", 1),
    ];
    assert_eq!(counts().await, expected);

    let (from, to, event): (String, String, String) =
        sqlx::query_as("SELECT from_state, to_state, event FROM conversation_transitions WHERE chat_id = 42")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (from.as_str(), to.as_str(), event.as_str()),
        ("Idle", "AwaitingTicker", "command:/analyze")
    );
    let outcomes: Vec<(i32, String, Option<i64>)> = sqlx::query_as(
        "SELECT attempt, outcome, retry_in_ms FROM job_attempts WHERE job_id = 'job-1' ORDER BY attempt",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        outcomes,
        vec![(1, "retry".into(), Some(2_000)), (2, "permanent".into(), None)]
    );
    let statuses: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT job_id, status, resolved_by FROM dead_letters ORDER BY job_id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        vec![
            ("job-1".into(), "replayed".into(), Some("cli:ops".into())),
            ("job-2".into(), "dead".into(), None)
        ],
        "the replay marks exactly the job it touched"
    );
    let (action, actor, filter, job_ids): (String, String, Value, Vec<String>) =
        sqlx::query_as("SELECT action, actor, filter, job_ids FROM dead_letter_audit")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((action.as_str(), actor.as_str()), ("replay", "cli:ops"));
    assert_eq!(
        (filter["older_than"].as_str(), job_ids),
        (Some("1h"), vec!["job-1".to_owned()])
    );
    let (scope, violations, max_wait): (String, i64, Option<i64>) = sqlx::query_as(
        "SELECT scope, violations, max_retry_after_ms FROM v_rate_limit_violations WHERE chat_id = 42",
    )
    .fetch_one(&app.db)
    .await
    .expect("the operators' view shows the violation");
    assert_eq!(
        (scope.as_str(), violations, max_wait),
        ("telegram_429", 1, Some(3_000))
    );
    let (blocked,): (bool,) = sqlx::query_as("SELECT blocked FROM users WHERE user_id = 42")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(blocked, "a block after the last sighting sticks");

    // A re-flush, as after a drainer died between write and trim: the same rows, again, through
    // the spool. Nothing changes.
    let spool = spool_of(&app).await;
    spool.append(&rows).await.expect("spool takes the replay");
    let report = log.flush().await;
    assert_eq!((report.spooled, report.held), (0, 0), "spool drained");
    assert_eq!(
        counts().await,
        expected,
        "replayed rows were absorbed, none written twice"
    );
    let (status,): (String,) = sqlx::query_as("SELECT status FROM dead_letters WHERE job_id = 'job-1'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(status, "replayed");

    // Writing to the bot again ends the block.
    log.record(ava::store::UserSeen {
        user_id: 42,
        username: Some("trader2".into()),
        first_name: None,
        language_code: None,
        seen_at: now + Days::seconds(3),
    })
    .await;
    log.flush().await;
    let (username, blocked): (Option<String>, bool) =
        sqlx::query_as("SELECT username, blocked FROM users WHERE user_id = 42")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((username.as_deref(), blocked), (Some("trader2"), false));

    app.cleanup().await;
}

#[tokio::test]
async fn a_row_postgres_refuses_is_kept_aside_and_the_rest_are_written() {
    let app = TestApp::spawn().await;
    let log = app.worker.log();
    let good = RateLimitViolation {
        log_key: new_log_key(),
        at: Utc::now(),
        scope: "chat".into(),
        chat_id: Some(1),
        method: None,
        retry_after_ms: None,
        detail: None,
    };
    let mut bad = JobAttempt {
        job_id: "j".into(),
        attempt: 1,
        kind: "k".into(),
        lane: "normal".into(),
        job_key: "c".into(),
        worker: None,
        started_at: Utc::now(),
        finished_at: Utc::now(),
        outcome: "exploded".into(), // violates the outcome CHECK
        error: None,
        retry_in_ms: None,
    };
    log.record(good).await;
    log.record(bad.clone()).await;
    let report = log.flush().await;
    assert_eq!((report.spooled, report.held), (0, 0));

    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM rate_limit_violations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 1, "the good row of the batch is written");
    let rejected = spool_of(&app).await.rejected().await.unwrap();
    assert_eq!(rejected.len(), 1, "the bad row is kept, not dropped");
    bad.outcome = "exploded".into();
    assert_eq!(
        ava::store::spool::decode(&rejected[0]).unwrap(),
        LogRow::from(bad)
    );

    app.cleanup().await;
}

#[tokio::test]
async fn a_user_who_blocked_the_bot_is_marked_blocked() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/bot[^/]+/sendMessage$"))
        .and(body_partial_json(json!({"chat_id": 31337})))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"
        })))
        .with_priority(1)
        .mount(&app.telegram)
        .await;
    let update = br#"{"update_id": 100000901, "message": {"message_id": 1, "date": 1763856000,
        "chat": {"id": 31337, "type": "private"}, "from": {"id": 31337, "is_bot": false, "first_name": "B"}, "text": "/start"}}"#;
    assert_eq!(app.post_update(update.to_vec(), Some(SECRET)).await, 200);
    let step = app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(step, Step::Ran(Outcome::Permanent(_))), "{step:?}");
    app.worker.log().flush().await;

    let (blocked, blocked_at): (bool, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT blocked, blocked_at FROM users WHERE user_id = 31337")
            .fetch_one(&app.db)
            .await
            .expect("users row");
    assert!(blocked && blocked_at.is_some());
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, error FROM outbound_log WHERE update_id = 100000901")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert!(error.is_some_and(|e| e.contains("blocked")));
    let (outcome,): (Option<String>,) =
        sqlx::query_as("SELECT outcome FROM message_log WHERE update_id = 100000901")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(outcome.as_deref(), Some("failed"));

    app.cleanup().await;
}

#[tokio::test]
async fn a_later_attempt_wins_whatever_order_its_rows_arrive_in() {
    let app = TestApp::spawn().await;
    let log = app.worker.log();
    let now = Utc::now();
    let attempt = |n: i32, outcome: &str| ava::store::MessageLogRow {
        update_id: 42,
        chat_id: Some(1),
        user_id: Some(1),
        kind: "message".into(),
        lane: "normal".into(),
        text: Some("/start".into()),
        command: Some("start".into()),
        raw: json!({"update_id": 42}),
        received_at: now,
        enqueued_at: Some(now),
        started_at: now + Days::seconds(n.into()),
        finished_at: Some(now + Days::seconds(n.into())),
        outcome: Some(outcome.into()),
        error: None,
        attempts: n,
        worker: format!("w{n}"),
    };
    // Attempt 2 lands first (say attempt 1's row sat in another process's spool).
    log.record(attempt(2, "done")).await;
    log.flush().await;
    log.record(attempt(1, "retry")).await;
    log.flush().await;
    let (attempts, outcome, worker): (i32, Option<String>, Option<String>) =
        sqlx::query_as("SELECT attempts, outcome, worker FROM message_log WHERE update_id = 42")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (attempts, outcome.as_deref(), worker.as_deref()),
        (2, Some("done"), Some("w2"))
    );

    app.cleanup().await;
}
