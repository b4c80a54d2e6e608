//! Every `ava dlq`, `ava queues` and `ava limits` command shown in README.md and
//! docs/OPERATIONS.md parses with the real command line and does what its text says.

use std::{path::Path, time::Duration};

use ava::{
    cli::{Cli, Command},
    ops,
};
use clap::Parser;
use workers::{Broker, Lane, NewJob};

use crate::harness::TestApp;

/// `ava …` lines of the docs' code blocks, comments removed, in order.
fn documented_commands() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut commands = Vec::new();
    for file in ["README.md", "docs/OPERATIONS.md"] {
        let text = std::fs::read_to_string(root.join(file)).expect("doc readable");
        let mut in_block = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with("```") {
                in_block = !in_block;
                continue;
            }
            let command = line.split(" #").next().unwrap_or("").trim();
            if in_block
                && ["ava dlq", "ava queues", "ava limits"]
                    .iter()
                    .any(|p| command.starts_with(p))
            {
                commands.push(command.to_owned());
            }
        }
    }
    commands
}

#[tokio::test]
async fn every_documented_operator_command_runs() {
    let app = TestApp::spawn().await;
    let broker = app.broker();
    for id in ["doc-a", "doc-b"] {
        broker
            .enqueue(NewJob::new("no_such_kind", Lane::Normal, id, b"{}".to_vec()).with_id(id))
            .await
            .unwrap();
        app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap();
    }
    let commands = documented_commands();
    for expected in [
        "ava queues",
        "ava dlq replay --all --to-lane low --yes",
        "ava limits reset 424242001",
    ] {
        assert!(
            commands.iter().any(|c| c == expected),
            "the docs show `{expected}`: {commands:?}"
        );
    }
    let mut ran = 0;
    for line in &commands {
        let line = line.replace("<job-id>", "doc-a");
        let cli = Cli::try_parse_from(line.split_whitespace())
            .unwrap_or_else(|e| panic!("`{line}` does not parse:\n{e}"));
        let out = match cli.command {
            // A watch runs until Ctrl-C: parsing it is what can be checked here.
            Command::Queues(args) if args.watch => continue,
            Command::Queues(args) => ops::queues::run(&app.settings, args).await,
            Command::Dlq(args) => ops::dlq::run(&app.settings, args).await,
            Command::Limits(command) => ava::ingress::limits_admin::run(&app.settings, command).await,
            other => panic!("`{line}` is not an operator command: {other:?}"),
        }
        .unwrap_or_else(|e| panic!("`{line}` failed: {e:#}"));
        if line.contains("--to-lane low") {
            assert!(
                out.contains("doc-b -> ") && out.contains("(low)"),
                "`{line}`: {out}"
            );
        }
        if line.contains("--dry-run") {
            assert!(out.contains("(dry run"), "`{line}`: {out}");
        }
        if line.contains("--json") {
            let first = out.lines().next().unwrap_or("");
            serde_json::from_str::<serde_json::Value>(&out)
                .or_else(|_| serde_json::from_str(first))
                .unwrap_or_else(|e| panic!("`{line}` printed no JSON ({e}): {out}"));
        }
        ran += 1;
    }
    assert!(ran >= 12, "ran {ran} documented commands");
    app.cleanup().await;
}

#[tokio::test]
async fn a_bulk_purge_without_a_terminal_or_yes_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let broker = app.broker();
    broker
        .enqueue(NewJob::new("no_such_kind", Lane::Low, "k", b"{}".to_vec()).with_id("bulk-1"))
        .await
        .unwrap();
    app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap();
    let cli = Cli::try_parse_from(["ava", "dlq", "purge", "--all"]).unwrap();
    let Command::Dlq(args) = cli.command else {
        unreachable!()
    };
    let err = ops::dlq::run(&app.settings, args).await.expect_err("refused");
    assert!(err.to_string().contains("add --yes"), "{err}");
    let stats = ops::dlq::run(
        &app.settings,
        match Cli::try_parse_from(["ava", "dlq", "--json", "stats"])
            .unwrap()
            .command
        {
            Command::Dlq(args) => args,
            _ => unreachable!(),
        },
    )
    .await
    .unwrap();
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["total"], 1, "nothing was purged");
    app.cleanup().await;
}

#[tokio::test]
async fn limits_show_a_limited_user_and_reset_gives_a_full_bucket() {
    let app = TestApp::spawn().await;
    let run = |args: &[&str]| {
        let cli = Cli::try_parse_from(args.iter().copied()).unwrap();
        let Command::Limits(command) = cli.command else {
            unreachable!()
        };
        ava::ingress::limits_admin::run(&app.settings, command)
    };
    let user = 515151;
    for i in 0..app.settings.inbound_limit.burst + 1 {
        let body = serde_json::json!({
            "update_id": 800000 + i64::from(i),
            "message": { "message_id": i, "date": 1763856000, "text": "hi",
                "from": { "id": user, "is_bot": false, "first_name": "Lee" },
                "chat": { "id": user, "type": "private" } }
        });
        let status = app
            .post_update(serde_json::to_vec(&body).unwrap(), Some(crate::harness::SECRET))
            .await;
        assert_eq!(status, 200);
    }
    let shown = run(&["ava", "limits", "show", "515151"]).await.unwrap();
    assert!(shown.contains("LIMITED"), "{shown}");
    let reset = run(&["ava", "limits", "reset", "515151"]).await.unwrap();
    assert!(reset.contains("limit reset"), "{reset}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["ava", "limits", "show", "515151", "--json"]).await.unwrap()).unwrap();
    assert_eq!(json["limited"], false);
    assert_eq!(
        json["tokens"].as_f64(),
        Some(f64::from(app.settings.inbound_limit.burst))
    );
    app.cleanup().await;
}
