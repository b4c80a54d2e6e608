//! Retention deletes exactly what has outlived each table's period, and keeps open dead letters.

use ava::store::{
    DeadLetter, DeadLetterAction, DeadLetterAudit, JobAttempt, MessageLogRow, OutboundLogRow,
    RateLimitViolation, new_log_key, retention,
};
use chrono::{Duration, Utc};
use serde_json::json;

use crate::harness::TestApp;

/// A message_log row of `update_id`, received at `at`.
fn message_row(update_id: i64, at: chrono::DateTime<Utc>) -> MessageLogRow {
    MessageLogRow {
        update_id,
        chat_id: Some(1),
        user_id: None,
        kind: "message".into(),
        lane: "normal".into(),
        text: None,
        command: None,
        raw: json!({"update_id": update_id}),
        received_at: at,
        enqueued_at: Some(at),
        started_at: at,
        finished_at: Some(at),
        outcome: Some("done".into()),
        error: None,
        attempts: 1,
        worker: "w".into(),
    }
}

#[tokio::test]
async fn the_scheduled_retention_job_applies_the_periods() {
    let app = TestApp::spawn().await;
    let now = Utc::now();
    for (update_id, age) in [(11, 120), (12, 10)] {
        app.worker
            .log()
            .record(message_row(update_id, now - Duration::days(age)))
            .await;
    }
    app.worker.log().flush().await;

    // What the scheduler enqueues once an hour; the worker runs it like any job.
    let broker = app.broker();
    let tick = ava::jobs::Tick {
        at_ms: now.timestamp_millis() as u64,
    };
    workers::Broker::enqueue(
        &broker,
        workers::NewJob::new(
            ava::jobs::RETENTION,
            workers::Lane::Low,
            "scheduler",
            serde_json::to_vec(&tick).unwrap(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        app.worker
            .try_execute_one(std::time::Duration::from_secs(5))
            .await
            .unwrap(),
        ava::worker::Step::Ran(workers::Outcome::Done)
    );
    let left: Vec<i64> = sqlx::query_scalar("SELECT update_id FROM message_log ORDER BY update_id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        left,
        vec![12],
        "the 120-day-old row is past message_log's 90 days"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn retention_deletes_rows_past_their_period_only() {
    let app = TestApp::spawn().await;
    let log = app.worker.log();
    let now = Utc::now();
    let days = &app.settings.store.retention_days;
    assert_eq!(days.message_log, 90, "the documented default");

    for (update_id, age) in [(1, 91), (2, 89), (3, 400)] {
        let at = now - Duration::days(age);
        log.record(message_row(update_id, at)).await;
        log.record(OutboundLogRow {
            log_key: new_log_key(),
            update_id: Some(update_id),
            chat_id: 1,
            method: "sendMessage".into(),
            payload: json!({}),
            message_id: None,
            status: "sent".into(),
            error: None,
            sent_at: at,
            latency_ms: None,
        })
        .await;
        log.record(RateLimitViolation {
            log_key: new_log_key(),
            at,
            scope: "global".into(),
            chat_id: None,
            method: None,
            retry_after_ms: None,
            detail: None,
        })
        .await;
        log.record(JobAttempt {
            job_id: format!("j{update_id}"),
            attempt: 1,
            kind: "k".into(),
            lane: "low".into(),
            job_key: "c".into(),
            worker: None,
            started_at: at,
            finished_at: at,
            outcome: "done".into(),
            error: None,
            retry_in_ms: None,
        })
        .await;
    }
    // Two old dead letters, one of them purged: only the purged one may expire.
    for id in ["open", "purged"] {
        log.record(DeadLetter {
            job_id: id.into(),
            kind: "k".into(),
            lane: "low".into(),
            job_key: "c".into(),
            payload: json!(null),
            error: "e".into(),
            error_class: Some("retries_exhausted".into()),
            attempts: 3,
            enqueued_at: None,
            first_attempt_at: None,
            last_attempt_at: None,
            failed_at: now - Duration::days(365),
        })
        .await;
    }
    log.record(DeadLetterAudit {
        log_key: new_log_key(),
        action: DeadLetterAction::Purge,
        actor: "ops".into(),
        filter: json!({"ids": ["purged"]}),
        job_ids: vec!["purged".into()],
        at: now - Duration::days(1),
    })
    .await;
    assert_eq!(log.flush().await.spooled, 0);

    let report = retention::run(&app.db, days, now).await.expect("retention runs");
    assert_eq!(report.deleted_from("message_log"), 2, "{report:?}");
    assert_eq!(report.deleted_from("outbound_log"), 2, "{report:?}");
    assert_eq!(report.deleted_from("rate_limit_violations"), 2, "{report:?}");
    assert_eq!(
        report.deleted_from("job_attempts"),
        3,
        "30 days by default: {report:?}"
    );
    assert_eq!(report.deleted_from("dead_letters"), 1, "{report:?}");
    assert_eq!(report.deleted_from("dead_letter_audit"), 0, "{report:?}");

    let kept: Vec<(i64,)> = sqlx::query_as("SELECT update_id FROM message_log")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(kept, vec![(2,)]);
    let (open,): (String,) = sqlx::query_as("SELECT job_id FROM dead_letters")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(open, "open", "an unhandled dead letter never expires");

    // A second run finds nothing; a period of 0 keeps everything.
    let again = retention::run(&app.db, days, now).await.unwrap();
    assert!(again.deleted.iter().all(|(_, n)| *n == 0), "{again:?}");
    let mut forever = days.clone();
    forever.message_log = 0;
    let later = retention::run(&app.db, &forever, now + Duration::days(1000))
        .await
        .unwrap();
    assert_eq!(later.deleted_from("message_log"), 0);

    app.cleanup().await;
}
