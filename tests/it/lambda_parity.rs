//! Issue 17's "done when": every fixture in `../shared/fixtures/updates/` and
//! `../shared/fixtures/peer-updates/` (sub-folders included) gets the same answer, status and
//! body, and queues the same job (id, kind, lane, key, payload) through the Lambda function, for
//! each of the three event shapes, as through the webhook.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use figment::providers::Serialized;
use serde_json::Value;
use workers::Lane;

use crate::{
    edge_support::drain_jobs,
    harness::{SECRET, TestApp},
    lambda_events::{Shape, call, event, lambda_env, start_function},
};

/// A queued job as the worker would lease it: kind, lane, ordering key, payload.
type Record = (String, Lane, String, Vec<u8>);

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| {
        panic!(
            "cannot read fixture folder {} ({e}); set SHARED_FIXTURES_DIR to the shared fixtures",
            dir.display()
        )
    });
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Every fixture, by path relative to `../shared/fixtures`, sorted. `SHARED_FIXTURES_DIR`
/// points elsewhere for a checkout without `shared/` beside it (e.g. a git worktree).
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let root = std::env::var_os("SHARED_FIXTURES_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"),
        PathBuf::from,
    );
    let mut paths = Vec::new();
    for set in ["updates", "peer-updates"] {
        json_files(&root.join(set), &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&root).unwrap().display().to_string();
            (name, std::fs::read(&p).expect("fixture readable"))
        })
        .collect()
}

async fn queued(settings: &ava::config::Settings) -> BTreeMap<String, Record> {
    let jobs = drain_jobs(settings).await;
    let records: BTreeMap<String, Record> = jobs
        .iter()
        .map(|j| {
            (
                j.id.clone(),
                (
                    j.kind.clone(),
                    j.lane,
                    j.key.clone(),
                    crate::lambda_ingress::as_sent(&j.payload),
                ),
            )
        })
        .collect();
    assert_eq!(records.len(), jobs.len(), "one job per id");
    records
}

#[tokio::test]
async fn the_fixture_set_gets_the_same_answers_and_jobs_through_lambda_as_through_the_webhook() {
    // The per-user inbound limit stays on (its Redis calls run on both paths), with a burst no
    // fixture run reaches: whether a sender is limited would otherwise depend on how fast each
    // path happened to run, not on the path.
    let app =
        TestApp::spawn_with(|fig| fig.merge(Serialized::default("inbound_limit.burst", 1_000_000))).await;
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 90,
        "the shared fixture set is there ({} files)",
        fixtures.len()
    );

    // Each fixture twice: the second round is Telegram redelivering.
    let mut webhook = Vec::new();
    for round in 0..2 {
        for (name, body) in &fixtures {
            let response = app
                .http
                .post(format!("http://{}{}", app.addr, app.settings.webhook.path))
                .header("content-type", "application/json")
                .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                .body(body.clone())
                .send()
                .await
                .expect("webhook reachable");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("JSON answer");
            webhook.push((format!("{name} (round {round})"), status, body));
        }
    }
    let webhook_jobs = queued(&app.settings).await;

    // Not a vacuous comparison: the set exercises queueing, redelivery, unknown kinds and 400.
    let results: std::collections::BTreeSet<String> = webhook
        .iter()
        .map(|(_, status, body)| format!("{status} {}", body["result"].as_str().unwrap_or("error")))
        .collect();
    for expected in ["200 queued", "200 duplicate", "200 ignored", "400 error"] {
        assert!(
            results.contains(expected),
            "no fixture answered {expected}: {results:?}"
        );
    }
    assert!(webhook_jobs.len() >= 40, "{} jobs queued", webhook_jobs.len());

    for (i, shape) in Shape::ALL.into_iter().enumerate() {
        let mut settings = app.settings.clone();
        settings.redis.prefix = format!("{}:lambda{i}", app.settings.redis.prefix);
        let (api, _function) = start_function(&lambda_env(&settings, &settings.redis.prefix)).await;
        let mut lambda = Vec::new();
        for round in 0..2 {
            for (name, body) in &fixtures {
                let answer = call(&api, event(shape, body, Some(SECRET), false)).await;
                lambda.push((format!("{name} (round {round})"), answer.status, answer.body));
            }
        }
        for (through_webhook, through_lambda) in webhook.iter().zip(&lambda) {
            assert_eq!(through_lambda, through_webhook, "{shape:?}: answer differs");
        }
        assert_eq!(lambda.len(), webhook.len());
        let lambda_jobs = queued(&settings).await;
        assert_eq!(
            lambda_jobs.keys().collect::<Vec<_>>(),
            webhook_jobs.keys().collect::<Vec<_>>(),
            "{shape:?}: queued update ids differ"
        );
        for (id, record) in &webhook_jobs {
            assert_eq!(&lambda_jobs[id], record, "{shape:?}: job {id} differs");
        }
        delete_keys(&app, &settings.redis.prefix).await;
    }
    app.cleanup().await;
}

/// Removes every key naming `prefix` (queue keys may wrap it in a hash tag).
async fn delete_keys(app: &TestApp, prefix: &str) {
    let mut conn = app.redis.clone();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .expect("DEL");
    }
}
