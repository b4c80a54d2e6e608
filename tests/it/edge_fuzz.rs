//! Property test: random bytes and mutated fixtures never panic the webhook, always get a 2xx or
//! 4xx, and nothing invalid is queued.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use ava::telegram::Envelope;
use proptest::{prelude::*, test_runner::TestCaseError};

use crate::{
    edge_support::drain_jobs,
    harness::{SECRET, TestApp, fixture},
};

const FIXTURES: &[&str] = &[
    "callback_query.json",
    "channel_post.json",
    "edited_message.json",
    "inline_query.json",
    "message_command_args.json",
    "message_group_command_mention.json",
    "message_start.json",
    "message_text.json",
    "message_unicode_long.json",
    "my_chat_member_blocked.json",
    "unknown_future_type.json",
    "voice_message.json",
];

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn apply(mut body: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if body.is_empty() {
            break;
        }
        match *m {
            Mutation::Set(i, b) => {
                let i = i % body.len();
                body[i] = b;
            }
            Mutation::Insert(i, b) => {
                let i = i % (body.len() + 1);
                body.insert(i, b);
            }
            Mutation::Remove(i) => {
                let i = i % body.len();
                body.remove(i);
            }
            Mutation::Truncate(n) => body.truncate(n % (body.len() + 1)),
        }
    }
    body
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // JSON's structural bytes mutate the shape; arbitrary bytes break the encoding.
    let byte = prop_oneof![
        prop::sample::select(b"{}[]\":,0123456789-.etrufalsn \\".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (
            prop::sample::select(FIXTURES),
            prop::collection::vec(mutation(), 1..6)
        )
            .prop_map(|(name, mutations)| apply(fixture(name), &mutations)),
    ]
}

#[test]
fn random_and_mutated_bodies_never_break_the_webhook() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let answered = Arc::new(AtomicUsize::new(0));
    let config = ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&body(), |body| {
        let status = runtime.block_on(app.post_update(body, Some(SECRET)));
        answered.fetch_add(1, Ordering::Relaxed);
        if !(status == 200 || status == 400) {
            return Err(TestCaseError::fail(format!("status {status}")));
        }
        Ok(())
    });
    if let Err(e) = result {
        runtime.block_on(app.cleanup());
        panic!("{e}");
    }
    assert!(answered.load(Ordering::Relaxed) >= 200);

    // Whatever was queued is a readable update of a kind AVA processes, under its own id.
    let jobs = runtime.block_on(drain_jobs(&app.settings));
    for job in &jobs {
        if job.kind == ava::jobs::RATE_LIMIT_NOTICE {
            continue; // a mutated fixture's sender went over the inbound limit
        }
        assert_eq!(job.kind, ava::jobs::TELEGRAM_UPDATE);
        let update: Envelope = serde_json::from_slice(&job.payload).unwrap_or_else(|e| {
            panic!(
                "invalid payload queued ({e}): {:?}",
                String::from_utf8_lossy(&job.payload)
            )
        });
        assert_eq!(job.id, update.update_id.to_string());
        assert!(
            app.settings
                .ingress
                .accepted_kinds
                .iter()
                .any(|k| k == update.kind()),
            "kind {} queued",
            update.kind()
        );
    }
    runtime.block_on(app.cleanup());
}
