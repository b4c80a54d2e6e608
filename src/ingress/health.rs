//! `GET /health` (alive) and `GET /ready` (Redis and Postgres reachable).

use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::IngressState;

/// How long each dependency gets to answer a readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) async fn health() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

pub(super) async fn ready(State(state): State<IngressState>) -> (StatusCode, Json<Value>) {
    let redis = async {
        let mut conn = state.redis.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(PROBE_TIMEOUT, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        }
    };
    let postgres = async {
        let query = sqlx::query("SELECT 1").execute(state.store.pool());
        match tokio::time::timeout(PROBE_TIMEOUT, query).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        }
    };
    let (redis, postgres) = tokio::join!(redis, postgres);
    let mut down = Vec::new();
    for (name, result) in [("redis", &redis), ("postgres", &postgres)] {
        if let Err(e) = result {
            // The reason goes to the log only: DSNs and hosts stay out of the HTTP answer.
            tracing::warn!(dependency = name, error = %e, "readiness check failed");
            down.push(name);
        }
    }
    let state_of = |r: &Result<(), String>| if r.is_ok() { "up" } else { "down" };
    let checks = json!({ "redis": state_of(&redis), "postgres": state_of(&postgres) });
    if down.is_empty() {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "checks": checks })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "down": down, "checks": checks })),
        )
    }
}
