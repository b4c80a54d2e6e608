//! The engagement dashboard's SQL runs on the real record and returns rows; compose refuses to
//! start without a bot token.

use std::{path::Path, process::Command, time::Duration};

use serde_json::Value;

use crate::harness::{SECRET, TestApp};

/// `rawSql` of every target of a dashboard, with its panel's title.
fn sql_targets(file: &str) -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("dashboard readable")).expect("JSON");
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            out.push((
                panel["title"].as_str().unwrap_or("?").to_owned(),
                target["rawSql"]
                    .as_str()
                    .expect("every engagement target is SQL")
                    .to_owned(),
            ));
        }
    }
    out
}

fn update(update_id: i64, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 1763856000, "text": text,
            "from": { "id": 424242001, "is_bot": false, "first_name": "Dana" },
            "chat": { "id": 424242001, "type": "private", "first_name": "Dana" },
            "entities": if text.starts_with('/') {
                serde_json::json!([{ "offset": 0, "length": text.split(' ').next().unwrap().len(), "type": "bot_command" }])
            } else { serde_json::json!([]) }
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn every_engagement_query_returns_rows_from_the_record() {
    let app = TestApp::spawn().await;
    // A user's session through the real path: a welcome, a conversation started and cancelled.
    for (id, text) in [(900001, "/start"), (900002, "/analyze"), (900003, "/cancel")] {
        assert_eq!(app.post_update(update(id, text), Some(SECRET)).await, 200);
        app.worker
            .try_execute_one(Duration::from_secs(5))
            .await
            .expect("a job runs");
    }
    app.worker.log().flush().await;
    let queries = sql_targets("dashboards/ava-user-engagement.json");
    assert!(
        queries.len() >= 5,
        "DAU, WAU, top commands, completion rate, messages per user"
    );
    for (title, sql) in queries {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all(&app.db)
            .await
            .unwrap_or_else(|e| panic!("panel {title:?}: {e}\n{sql}"));
        assert!(!rows.is_empty(), "panel {title:?} returned no rows:\n{sql}");
    }
    app.cleanup().await;
}

fn docker_compose(env_file: &Path) -> std::process::Output {
    Command::new("docker-compose")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-f", "docker/compose.yaml", "--env-file"])
        .arg(env_file)
        .args(["config", "-q"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap_or_else(|e| {
            panic!("docker-compose is not installed ({e}); install it: apt-get install -y docker-compose")
        })
}

#[test]
fn compose_refuses_to_start_without_a_bot_token() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = root.join("docker/.env.example");
    let ok = docker_compose(&example);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let without: String = std::fs::read_to_string(&example)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("AVA_TELEGRAM__TOKEN="))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = std::env::temp_dir().join(format!("ava-compose-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join(".env");
    std::fs::write(&env_file, without).unwrap();
    let refused = docker_compose(&env_file);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!refused.status.success(), "compose accepted a missing bot token");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("AVA_TELEGRAM__TOKEN"),
        "the error names the variable: {stderr}"
    );
}
