//! The migrations build the whole record from an empty schema, and running them again changes nothing.

use crate::harness::TestApp;

/// Tables and views this engineer's migrations own.
const RELATIONS: [&str; 9] = [
    "message_log",
    "outbound_log",
    "users",
    "conversation_transitions",
    "job_attempts",
    "dead_letters",
    "dead_letter_audit",
    "rate_limit_violations",
    "v_rate_limit_violations",
];

async fn relations_and_indexes(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let schema = &app.settings.database.schema;
    let relations: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let indexes: Vec<(String,)> =
        sqlx::query_as("SELECT indexname::text FROM pg_indexes WHERE schemaname = $1 ORDER BY 1")
            .bind(schema)
            .fetch_all(&app.db)
            .await
            .unwrap();
    (
        relations.into_iter().map(|r| r.0).collect(),
        indexes.into_iter().map(|r| r.0).collect(),
    )
}

#[tokio::test]
async fn migrations_build_the_record_from_empty_and_rerun_harmlessly() {
    // TestApp::spawn migrates a schema it has just created: the "from empty" run.
    let app = TestApp::spawn().await;
    let before = relations_and_indexes(&app).await;
    for relation in RELATIONS {
        assert!(
            before.0.iter().any(|r| r == relation),
            "{relation} missing; have {:?}",
            before.0
        );
    }
    for index in [
        "outbound_log_log_key",
        "message_log_user_received",
        "job_attempts_started",
    ] {
        assert!(before.1.iter().any(|i| i == index), "index {index} missing");
    }

    // `ava migrate` again: nothing pending, nothing fails.
    ava::roles::migrate(&app.settings)
        .await
        .expect("second migrate is a no-op");
    // Each migration's SQL run again by hand (as after a lost _sqlx_migrations row): idempotent.
    for migration in ava::store::MIGRATOR.iter() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(migration.sql.as_str().to_owned()))
            .execute(&app.db)
            .await
            .unwrap_or_else(|e| panic!("migration {} is not idempotent: {e}", migration.version));
    }
    assert_eq!(
        relations_and_indexes(&app).await,
        before,
        "re-running changed the schema"
    );

    app.cleanup().await;
}
