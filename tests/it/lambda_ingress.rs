//! The ingress as a Lambda function: the real `bootstrap` binary against a fake Runtime API,
//! invoked with API Gateway REST (v1), HTTP API (v2) and function-URL events. Every status the
//! webhook gives (200 queued, 200 duplicate, 401, 413, 400, 503) and the job it queues.

use std::{collections::BTreeMap, time::Duration};

use serde_json::json;
use workers::Lane;

use crate::{
    edge_support::{drain_jobs, message},
    harness::{SECRET, TestApp, redis_url},
    lambda_events::{Shape, call, event, lambda_env, start_function, with_method},
    lambda_runtime_api::{FakeRuntimeApi, Function},
    pg_proxy::{PgProxy, upstream},
};

#[tokio::test]
async fn lambda_answers_every_status_for_every_event_shape() {
    let app = TestApp::spawn().await;
    let prefix = app.settings.redis.prefix.clone();
    let (api, _function) = start_function(&lambda_env(&app.settings, &prefix)).await;

    let mut expected = BTreeMap::new();
    for (i, shape) in Shape::ALL.into_iter().enumerate() {
        let user = 900_000 + i as i64;
        let update = message(1_000 + i as i64, user, "hello from Lambda");
        let queued = call(&api, event(shape, &update, Some(SECRET), false)).await;
        assert_eq!(queued.status, 200, "{shape:?}: {:?}", queued.raw);
        assert_eq!(
            queued.body,
            json!({ "ok": true, "result": "queued" }),
            "{shape:?}"
        );
        expected.insert(
            update_id(&update),
            (Lane::Normal, user.to_string(), update.clone()),
        );

        let again = call(&api, event(shape, &update, Some(SECRET), false)).await;
        assert_eq!(
            (again.status, &again.body["ok"], &again.body["result"]),
            (200, &json!(true), &json!("duplicate")),
            "{shape:?}"
        );
        // The same explanation as the webhook gives: the update_id was seen before.
        let why = again.body["description"].as_str().unwrap_or_default();
        assert!(why.contains(&update_id(&update).to_string()), "{shape:?}: {why}");

        for secret in [Some("wrong-secret"), Some(""), None] {
            let refused = call(
                &api,
                event(shape, &message(1_100 + i as i64, user, "x"), secret, false),
            )
            .await;
            assert_eq!(refused.status, 401, "{shape:?} secret {secret:?}");
            assert_eq!(refused.body["ok"], json!(false));
        }

        // Over the default 1 MiB limit, yet otherwise a valid update.
        let big = message(1_200 + i as i64, user, &"x".repeat(1024 * 1024));
        let too_large = call(&api, event(shape, &big, Some(SECRET), false)).await;
        assert_eq!(too_large.status, 413, "{shape:?}");

        for body in [&b"{not json"[..], b"", b"[]", br#"{"update_id":"7"}"#] {
            let bad = call(&api, event(shape, body, Some(SECRET), false)).await;
            assert_eq!(bad.status, 400, "{shape:?} {:?}", String::from_utf8_lossy(body));
        }

        // A body API Gateway or the function URL chose to base64-encode.
        let update = message(2_000 + i as i64, user, "base64 on the way");
        let encoded = call(&api, event(shape, &update, Some(SECRET), true)).await;
        assert_eq!(
            (encoded.status, &encoded.body["result"]),
            (200, &json!("queued")),
            "{shape:?}"
        );
        expected.insert(
            update_id(&update),
            (Lane::Normal, user.to_string(), update.clone()),
        );

        let get = call(
            &api,
            with_method(shape, event(shape, b"", Some(SECRET), false), "GET"),
        )
        .await;
        assert_eq!(get.status, 405, "{shape:?}");
    }

    let jobs = drain_jobs(&app.settings).await;
    let queued: BTreeMap<String, (Lane, String, Vec<u8>)> = jobs
        .iter()
        .map(|j| {
            assert_eq!(j.kind, ava::jobs::TELEGRAM_UPDATE, "job {}", j.id);
            (j.id.clone(), (j.lane, j.key.clone(), as_sent(&j.payload)))
        })
        .collect();
    assert_eq!(jobs.len(), queued.len(), "one job per update id");
    assert_eq!(
        queued, expected,
        "queued jobs: id → lane, key, payload byte for byte"
    );
    assert!(api.next_calls() > 0);
    app.cleanup().await;
}

fn update_id(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body).unwrap()["update_id"]
        .as_i64()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn lambda_with_redis_down_answers_503_and_queues_nothing() {
    let app = TestApp::spawn().await;
    let proxy = PgProxy::start(upstream(&redis_url())).await;
    let mut env = lambda_env(&app.settings, &app.settings.redis.prefix);
    for (key, value) in env.iter_mut() {
        if key == "AVA_REDIS__URL" {
            *value = proxy.url(&redis_url());
        }
    }
    let (api, _function) = start_function(&env).await;
    let update = |id: i64| message(id, 700, "hi");

    let first = call(&api, event(Shape::RestV1, &update(1), Some(SECRET), false)).await;
    assert_eq!(first.status, 200);

    proxy.cut();
    for (id, shape) in [(2, Shape::RestV1), (3, Shape::HttpV2), (4, Shape::FunctionUrl)] {
        let down = call(&api, event(shape, &update(id), Some(SECRET), false)).await;
        assert_eq!(down.status, 503, "{shape:?}: {:?}", down.raw);
        assert_eq!(down.body["ok"], json!(false), "{shape:?}");
        assert_eq!(down.header("retry-after").as_deref(), Some("1"), "{shape:?}");
    }
    // Read straight from Redis (not through the cut proxy): only the update before the outage.
    let ids: Vec<String> = drain_jobs(&app.settings)
        .await
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec!["1".to_owned()], "refused updates must not be queued");

    // Redis is back: the same warm function takes Telegram's redelivery at once (a 503 made it
    // drop its connections, so this invocation connects afresh).
    proxy.restore();
    let again = call(&api, event(Shape::HttpV2, &update(2), Some(SECRET), false)).await;
    assert_eq!(
        (again.status, &again.body["result"]),
        (200, &json!("queued")),
        "the redelivered update is queued once Redis is back: {:?}",
        again.raw
    );

    let ids: Vec<String> = drain_jobs(&app.settings)
        .await
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec!["2".to_owned()]);
    app.cleanup().await;
}

#[tokio::test]
async fn lambda_rate_limited_update_is_acknowledged_and_recorded_before_the_answer() {
    let app = TestApp::spawn().await;
    let mut env = lambda_env(&app.settings, &app.settings.redis.prefix);
    env.retain(|(k, _)| k != "AVA_INBOUND_LIMIT__BURST");
    env.push(("AVA_INBOUND_LIMIT__BURST".into(), "1".into()));
    env.push(("AVA_INBOUND_LIMIT__REFILL_PER_SEC".into(), "0.001".into()));
    let (api, _function) = start_function(&env).await;

    let first = call(
        &api,
        event(Shape::HttpV2, &message(11, 4242, "one"), Some(SECRET), false),
    )
    .await;
    assert_eq!(first.body["result"], json!("queued"));
    let second = call(
        &api,
        event(Shape::HttpV2, &message(12, 4242, "two"), Some(SECRET), false),
    )
    .await;
    assert_eq!(
        (second.status, &second.body["result"]),
        (200, &json!("rate_limited"))
    );

    // Flushed before the answer: Lambda may freeze the process right after it.
    let rows: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT scope, chat_id FROM rate_limit_violations WHERE log_key = 'inbound:12'")
            .fetch_all(&app.db)
            .await
            .expect("rate_limit_violations readable");
    assert_eq!(rows, vec![("inbound_user".to_owned(), Some(4242))]);
    let kinds: Vec<(String, String)> = drain_jobs(&app.settings)
        .await
        .into_iter()
        .map(|j| (j.id, j.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("11".to_owned(), ava::jobs::TELEGRAM_UPDATE.to_owned()),
            ("notice:12".to_owned(), ava::jobs::RATE_LIMIT_NOTICE.to_owned()),
        ]
    );
    app.cleanup().await;
}

#[tokio::test]
async fn lambda_init_failure_is_reported_to_init_error_without_secrets() {
    let app = TestApp::spawn().await;
    // No webhook secret: refused at init, naming the key.
    let mut env = lambda_env(&app.settings, &app.settings.redis.prefix);
    for (key, value) in env.iter_mut() {
        if key == "AVA_WEBHOOK__SECRET" {
            value.clear();
        }
    }
    let api = FakeRuntimeApi::start().await;
    let mut function = Function::start(&api, &env);
    let report = api
        .init_error(Duration::from_secs(20))
        .await
        .expect("init/error reported");
    assert_eq!(report["error_type"], json!("Runtime.InitError"));
    assert!(
        report["body"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("webhook.secret"),
        "{report}"
    );
    assert_ne!(function.exit_code(Duration::from_secs(10)).await, Some(0));
    assert_eq!(api.next_calls(), 0, "no invocation is taken after a failed init");

    // Redis unreachable (nothing listens on 7208): refused at init; the URL's password, if
    // any, would not be echoed since only the setting's name is.
    let mut env = lambda_env(&app.settings, &app.settings.redis.prefix);
    for (key, value) in env.iter_mut() {
        if key == "AVA_REDIS__URL" {
            *value = "redis://:hunter2@127.0.0.1:7208".into();
        }
    }
    let api = FakeRuntimeApi::start().await;
    let mut function = Function::start(&api, &env);
    let report = api
        .init_error(Duration::from_secs(20))
        .await
        .expect("init/error reported");
    let message = report["body"]["errorMessage"].as_str().unwrap();
    assert!(message.contains("redis.url"), "{report}");
    assert!(!message.contains("hunter2"), "secret leaked: {report}");
    assert_ne!(function.exit_code(Duration::from_secs(10)).await, Some(0));
    app.cleanup().await;
}

#[tokio::test]
async fn lambda_reads_its_secret_from_a_file() {
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("ava-lambda-{}", app.settings.database.schema));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("webhook_secret");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let mut env = lambda_env(&app.settings, &app.settings.redis.prefix);
    env.retain(|(k, _)| k != "AVA_WEBHOOK__SECRET");
    env.push(("AVA_WEBHOOK__SECRET_FILE".into(), file.display().to_string()));
    let (api, _function) = start_function(&env).await;

    let ok = call(
        &api,
        event(Shape::FunctionUrl, &message(31, 77, "hi"), Some(SECRET), false),
    )
    .await;
    assert_eq!((ok.status, &ok.body["result"]), (200, &json!("queued")));
    let wrong = call(
        &api,
        event(Shape::FunctionUrl, &message(32, 77, "hi"), Some("nope"), false),
    )
    .await;
    assert_eq!(wrong.status, 401);
    std::fs::remove_dir_all(&dir).unwrap();
    app.cleanup().await;
}

/// A queued payload as Telegram sent it: the ingress' receipt stamp (its time differs between
/// two front doors) taken off, the rest byte for byte.
pub(crate) fn as_sent(payload: &[u8]) -> Vec<u8> {
    ava::telegram::update::unstamp(payload).expect("the ingress stamps every queued update")
}
