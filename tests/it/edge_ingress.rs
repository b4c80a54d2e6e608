//! The webhook's answers: a status and a lane for every fixture, bad requests, duplicates,
//! unknown kinds, health/readiness/metrics and draining on shutdown.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use figment::providers::Serialized;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use workers::Lane;

use crate::{
    edge_support::{drain_jobs, message},
    harness::{SECRET, TestApp, fixture},
};

/// Every fixture's expected answer: `Some(lane)` when queued, `None` when acknowledged only.
const FIXTURES: &[(&str, Option<Lane>)] = &[
    ("callback_query.json", Some(Lane::High)),
    ("channel_post.json", Some(Lane::Low)),
    ("edited_message.json", Some(Lane::Low)),
    ("inline_query.json", Some(Lane::Low)),
    ("message_command_args.json", Some(Lane::Normal)),
    ("message_group_command_mention.json", Some(Lane::Normal)),
    ("message_start.json", Some(Lane::Normal)),
    ("message_text.json", Some(Lane::Normal)),
    ("message_unicode_long.json", Some(Lane::Normal)),
    ("my_chat_member_blocked.json", Some(Lane::Low)),
    ("unknown_future_type.json", None),
    ("voice_message.json", Some(Lane::Normal)),
];

fn update_id_of(body: &[u8]) -> i64 {
    serde_json::from_slice::<Value>(body).unwrap()["update_id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn every_fixture_gets_its_status_and_lane() {
    let app = TestApp::spawn().await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/updates");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let listed: Vec<String> = FIXTURES.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        on_disk, listed,
        "every fixture has an expected status and lane here"
    );

    let mut expected = BTreeMap::new();
    for (name, lane) in FIXTURES {
        let body = fixture(name);
        assert_eq!(app.post_update(body.clone(), Some(SECRET)).await, 200, "{name}");
        if let Some(lane) = lane {
            expected.insert(update_id_of(&body).to_string(), (*lane, *name));
        }
    }
    let jobs = drain_jobs(&app.settings).await;
    let queued: BTreeMap<String, (Lane, &str)> = jobs
        .iter()
        .map(|j| {
            let name = expected.get(&j.id).map(|(_, n)| *n).unwrap_or("?");
            (j.id.clone(), (j.lane, name))
        })
        .collect();
    assert_eq!(queued, expected, "queued jobs and their lanes, by update_id");
    assert!(
        jobs.iter().all(|j| j.kind == ava::jobs::TELEGRAM_UPDATE),
        "only updates queued"
    );

    app.cleanup().await;
}

#[tokio::test]
async fn cancel_and_stop_commands_jump_to_the_high_lane() {
    let app = TestApp::spawn().await;
    for (id, text) in [
        (1, "/cancel"),
        (2, "/stop@ava_wheel_bot now"),
        (3, "/start"),
        (4, "cancel"),
        // As Telegram clients send them: any case, with the bot named.
        (5, "/CANCEL"),
        (6, "/cancel@ava_bot"),
        (7, "/Stop"),
    ] {
        assert_eq!(app.post_update(message(id, 77, text), Some(SECRET)).await, 200);
    }
    let lanes: BTreeMap<String, Lane> = drain_jobs(&app.settings)
        .await
        .into_iter()
        .map(|j| (j.id, j.lane))
        .collect();
    let expected: BTreeMap<String, Lane> = [
        ("1".to_owned(), Lane::High),
        ("2".to_owned(), Lane::High),
        ("3".to_owned(), Lane::Normal),
        ("4".to_owned(), Lane::Normal),
        ("5".to_owned(), Lane::High),
        ("6".to_owned(), Lane::High),
        ("7".to_owned(), Lane::High),
    ]
    .into();
    assert_eq!(lanes, expected);
    app.cleanup().await;
}

#[tokio::test]
async fn lane_rules_come_from_configuration() {
    let app = TestApp::spawn_with(|fig| {
        fig.merge(Serialized::default("lanes.high_commands", vec!["panic"]))
            .merge(Serialized::default("lanes.low_kinds", Vec::<String>::new()))
    })
    .await;
    assert_eq!(app.post_update(message(1, 77, "/panic"), Some(SECRET)).await, 200);
    assert_eq!(
        app.post_update(message(2, 77, "/cancel"), Some(SECRET)).await,
        200
    );
    assert_eq!(
        app.post_update(fixture("edited_message.json"), Some(SECRET))
            .await,
        200
    );
    let lanes: BTreeMap<String, Lane> = drain_jobs(&app.settings)
        .await
        .into_iter()
        .map(|j| (j.id, j.lane))
        .collect();
    assert_eq!(lanes["1"], Lane::High);
    assert_eq!(lanes["2"], Lane::Normal);
    assert_eq!(lanes["100000005"], Lane::Normal);
    app.cleanup().await;
}

#[tokio::test]
async fn bad_requests_get_401_413_400_and_queue_nothing() {
    let app = TestApp::spawn().await;
    let start = fixture("message_start.json");
    assert_eq!(app.post_update(start.clone(), Some("wrong")).await, 401);
    assert_eq!(app.post_update(start.clone(), None).await, 401);
    // Over the default 1 MiB limit, yet otherwise a valid update.
    let mut big = json!({ "update_id": 5, "message": { "text": "" } });
    big["message"]["text"] = json!("x".repeat(1024 * 1024));
    assert_eq!(
        app.post_update(serde_json::to_vec(&big).unwrap(), Some(SECRET))
            .await,
        413
    );
    for body in [
        &b"{not json"[..],
        b"",
        b"[]",
        br#"{"message": {"text": "no id"}}"#,
        br#"{"update_id": "7", "message": {}}"#,
        br#"{"update_id": 7.5, "message": {}}"#,
        br#"{"update_id": 99999999999999999999, "message": {}}"#,
    ] {
        assert_eq!(
            app.post_update(body.to_vec(), Some(SECRET)).await,
            400,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert!(drain_jobs(&app.settings).await.is_empty(), "nothing queued");
    assert!(app.redis_keys().await.is_empty(), "nothing written to Redis");
    app.cleanup().await;
}

#[tokio::test]
async fn the_body_limit_is_configurable_and_counted_without_content_length() {
    let app =
        TestApp::spawn_with(|fig| fig.merge(Serialized::default("ingress.body_limit_bytes", 2048))).await;
    let mut body = json!({ "update_id": 5, "message": { "text": "" } });
    body["message"]["text"] = json!("x".repeat(2100));
    assert_eq!(
        app.post_update(serde_json::to_vec(&body).unwrap(), Some(SECRET))
            .await,
        413
    );

    // A chunked body declares no length: the limit is enforced while reading.
    let payload = serde_json::to_vec(&body).unwrap();
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         x-telegram-bot-api-secret-token: {SECRET}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        app.settings.webhook.path
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in payload.chunks(500) {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        if stream.write_all(&frame).await.is_err() {
            break; // the server may answer and close before reading everything
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(drain_jobs(&app.settings).await.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn a_duplicate_update_is_acknowledged_and_queued_once() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        assert_eq!(
            app.post_update(fixture("message_text.json"), Some(SECRET)).await,
            200
        );
    }
    let jobs = drain_jobs(&app.settings).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, "100000002");
    app.cleanup().await;
}

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.http.get(format!("http://{}{path}", app.addr)).send();

    let health = get("/health").await.unwrap();
    assert_eq!(health.status(), 200);

    let ready = get("/ready").await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"], json!({ "redis": "up", "postgres": "up" }));

    assert_eq!(
        app.post_update(fixture("unknown_future_type.json"), Some(SECRET))
            .await,
        200
    );
    assert_eq!(
        app.post_update(fixture("message_text.json"), Some(SECRET)).await,
        200
    );
    let metrics = get("/metrics").await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("# HELP ava_ingress_updates_total"), "{text}");
    assert!(
        text.contains(r#"ava_ingress_updates_total{source="webhook",result="ignored",lane="none"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ava_ingress_updates_total{source="webhook",result="queued",lane="normal"}"#),
        "{text}"
    );
    assert!(!text.contains(crate::harness::TOKEN), "no token in metrics");

    // Postgres unreachable (nothing listens on 7209): /ready names it, and only it.
    let mut settings = app.settings.clone();
    settings.database.url = ava::config::Secret::new("postgres://postgres@127.0.0.1:7209/test");
    let (addr, stop, _role) = crate::harness::spawn_ingress(&settings).await;
    let ready = app.http.get(format!("http://{addr}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["down"], json!(["postgres"]), "{body}");
    assert!(
        !body.to_string().contains("7209"),
        "no connection details in the answer: {body}"
    );
    stop.cancel();

    app.cleanup().await;
}

#[tokio::test]
async fn on_shutdown_in_flight_requests_finish_and_new_ones_get_503() {
    let app = TestApp::spawn().await;
    let mut settings = app.settings.clone();
    settings.ingress.drain_secs = 2;
    let (addr, shutdown, server) = crate::harness::spawn_ingress(&settings).await;

    // A request in flight: headers and half of the body sent before the signal.
    let body = fixture("message_start.json");
    let (first, rest) = body.split_at(body.len() / 2);
    let mut in_flight = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         x-telegram-bot-api-secret-token: {SECRET}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        app.settings.webhook.path,
        body.len()
    );
    in_flight.write_all(head.as_bytes()).await.unwrap();
    in_flight.write_all(first).await.unwrap();
    // A round trip on another connection: by then the server has read the first one's headers.
    let health = app
        .http
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    shutdown.cancel();
    let new = app
        .http
        .post(format!("http://{addr}{}", app.settings.webhook.path))
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .body(fixture("message_text.json"))
        .send()
        .await
        .expect("the listener is still up while draining");
    assert_eq!(
        new.status(),
        503,
        "new webhook requests are refused while stopping"
    );

    in_flight.write_all(rest).await.unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the in-flight request finishes: {answer}"
    );

    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server exits after draining")
        .unwrap()
        .unwrap();
    let ids: Vec<String> = drain_jobs(&app.settings)
        .await
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec!["100000001"], "only the in-flight update was queued");
    app.cleanup().await;
}
