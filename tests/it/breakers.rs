//! External services failing: the breaker opens during an analysis and the user gets a clear
//! answer at once; the HTTP provider's happy path and errors; the cache; the paper broker's
//! idempotency.

use std::time::Duration;

use ava::{
    config::{CacheSettings, GuardSettings},
    integrations::{
        Broker, Cache, CacheKind, Guard, HttpMarket, Instrument, IntegrationError, MarketData, OrderRequest,
        PaperBroker, Side,
    },
};
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

use crate::{
    chat::{last_sent_contains, message, say, settings_with},
    harness::TestApp,
};

#[tokio::test]
async fn the_breaker_opens_during_an_analysis_and_the_user_is_told_at_once() {
    let app = TestApp::spawn().await;
    let provider = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&provider)
        .await;
    let settings = settings_with(&app, |s| {
        s.market_data.provider = "http".into();
        s.market_data.base_url = provider.uri();
        s.market_data.retries = 0;
        s.market_data.breaker_failures = 2;
        s.market_data.breaker_open_secs = 120;
    });
    let worker = crate::harness::worker(&settings).await.unwrap();

    say(&app, &worker, message(500_001, "analyze a stock")).await;
    say(&app, &worker, message(500_002, "AAPL")).await;
    last_sent_contains(
        &app,
        "⚠️ Market data isn't answering right now. I couldn't check AAPL",
    )
    .await;
    say(&app, &worker, message(500_003, "AAPL")).await;
    assert_eq!(provider.received_requests().await.unwrap().len(), 2);

    // Open now: answered without calling the provider, and the analysis is still waiting.
    say(&app, &worker, message(500_004, "AAPL")).await;
    last_sent_contains(&app, "⚠️ Market data is paused after repeated failures (retry in").await;
    assert_eq!(
        provider.received_requests().await.unwrap().len(),
        2,
        "no call while open"
    );
    say(&app, &worker, message(500_005, "/status")).await;
    let status = last_sent_contains(&app, "Market data: 🔴 paused after failures").await;
    assert!(
        status.contains("In progress: a stock analysis (waiting for a ticker)"),
        "{status}"
    );
    assert!(status.contains("Broker: ✅ working"), "{status}");
    app.cleanup().await;
}

#[tokio::test]
async fn the_http_provider_reads_quotes_and_classifies_errors() {
    let provider = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/quote/AAPL"))
        .and(header("authorization", "Bearer k-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "symbol": "AAPL", "price": 191.5, "previous_close": 190.0, "volume": 1000, "at": "2026-11-23T15:00:00Z"
        })))
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/quote/NOPE"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/quote/MSFT"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&provider)
        .await;
    let mut settings = ava::config::Settings::figment(None)
        .extract::<ava::config::Settings>()
        .unwrap()
        .market_data;
    settings.provider = "http".into();
    settings.base_url = provider.uri();
    settings.api_key = ava::config::Secret::new("k-123");
    let market = HttpMarket::new(&settings).unwrap();
    assert_eq!(market.quote("AAPL").await.unwrap().price, 191.5);
    assert_eq!(
        market.quote("NOPE").await,
        Err(IntegrationError::UnknownSymbol("NOPE".into()))
    );
    let err = market.quote("MSFT").await.unwrap_err();
    assert!(err.is_service_failure(), "{err}");
}

#[tokio::test]
async fn the_cache_serves_repeats_and_counts_hits_and_misses() {
    let app = TestApp::spawn().await;
    let settings = CacheSettings {
        quote_ttl_secs: 15,
        positions_ttl_secs: 30,
        portfolio_ttl_secs: 300,
    };
    let cache = Cache::new(app.backends.redis.clone(), &app.settings.redis.prefix, &settings);
    let fetches = std::sync::atomic::AtomicU32::new(0);
    for _ in 0..3 {
        let value: Result<f64, ()> = cache
            .get_or_fetch(CacheKind::Quote, "AAPL", || async {
                fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(190.25)
            })
            .await;
        assert_eq!(value, Ok(190.25));
    }
    assert_eq!(fetches.into_inner(), 1);
    assert_eq!((cache.stats().hits, cache.stats().misses), (2, 1));
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{}:cache:quote:AAPL", app.settings.redis.prefix))
        .query_async(&mut app.redis.clone())
        .await
        .unwrap();
    assert!((1..=15).contains(&ttl), "quotes live 15 s, got {ttl}");
    app.cleanup().await;
}

#[tokio::test]
async fn the_paper_broker_places_one_order_per_idempotency_key() {
    let app = TestApp::spawn().await;
    let broker = PaperBroker::new(app.db.clone(), 1_000_000); // $10,000 in cents
    let order = OrderRequest {
        symbol: "KO".into(),
        instrument: Instrument::Stock,
        side: Side::Buy,
        quantity: 10,
        limit_price: 60.0,
    };
    let first = broker.place_order(9, &order, "chat9:u1").await.unwrap();
    let again = broker.place_order(9, &order, "chat9:u1").await.unwrap();
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(first.order_id, again.order_id);
    assert_eq!(broker.account(9).await.unwrap().cash, 9_400.0, "charged once");
    let too_big = OrderRequest {
        quantity: 1_000,
        ..order
    };
    assert!(matches!(
        broker.place_order(9, &too_big, "chat9:u2").await,
        Err(IntegrationError::Rejected(_))
    ));
    assert_eq!(
        broker.positions(9).await.unwrap()[0].quantity,
        10,
        "the rejected order left no trace"
    );
    tokio::time::timeout(Duration::from_secs(5), app.cleanup())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lost_race_on_the_chat_state_is_a_retry_not_an_overwrite() {
    // Per-chat order keeps two jobs of one chat apart, except when a lease expires while its
    // job still runs (a stalled worker) and the chat's next job runs elsewhere. This makes that
    // overlap happen, by queueing /cancel under another ordering key, to show the
    // compare-and-set catches it: a slow quote holds the first job while /cancel runs.
    let app = TestApp::spawn().await;
    let provider = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/quote/AAPL"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "symbol": "AAPL", "price": 191.5, "previous_close": 190.0, "volume": 1000, "at": "2026-11-23T15:00:00Z"
                }))
                .set_delay(Duration::from_millis(700)),
        )
        .mount(&provider)
        .await;
    let settings = settings_with(&app, |s| {
        s.market_data.provider = "http".into();
        s.market_data.base_url = provider.uri();
    });
    let slow = crate::harness::worker(&settings).await.unwrap();
    let fast = crate::harness::worker(&settings).await.unwrap();
    say(&app, &fast, message(510_001, "analyze a stock")).await;

    assert_eq!(
        app.post_update(message(510_002, "AAPL"), Some(crate::harness::SECRET))
            .await,
        200
    );
    let first = tokio::spawn(async move { slow.try_execute_one(Duration::from_secs(5)).await.unwrap() });
    // Bounded wait until the slow job is inside its quote call.
    for _ in 0..100 {
        if !provider.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let broker = app.broker();
    // The chat's update, queued under another ordering key, as after a lost lease.
    let sideways = |update_id: i64, text: &'static str| {
        let broker = broker.clone();
        async move {
            workers::Broker::enqueue(
                &broker,
                workers::NewJob::new(
                    ava::jobs::TELEGRAM_UPDATE,
                    workers::Lane::High,
                    "stalled-lease-overlap",
                    message(update_id, text),
                ),
            )
            .await
            .unwrap();
        }
    };
    sideways(510_003, "/cancel").await;
    crate::chat::drain(&fast).await;
    last_sent_contains(&app, "Cancelled a stock analysis (waiting for a ticker)").await;

    let outcome = first.await.unwrap();
    assert!(
        matches!(outcome, ava::worker::Step::Ran(workers::Outcome::Retry(ref why)) if why.contains("changed concurrently")),
        "{outcome:?}"
    );
    // The cancel stands: nothing overwrote it, and the loser sent nothing.
    last_sent_contains(&app, "Cancelled").await;
    // The loser's retry now waits in the chat's mailbox (per-chat order), so the probe takes
    // the same side road as the cancel.
    sideways(510_004, "/status").await;
    crate::chat::drain(&fast).await;
    last_sent_contains(&app, "Nothing in progress.").await;
    app.cleanup().await;
}

#[tokio::test]
async fn reads_are_retried_with_backoff_and_cut_by_the_timeout() {
    let provider = MockServer::start().await;
    let quote = json!({
        "symbol": "AAPL", "price": 191.5, "previous_close": 190.0, "volume": 1000, "at": "2026-11-23T15:00:00Z"
    });
    Mock::given(method("GET"))
        .and(path("/quote/AAPL"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/quote/AAPL"))
        .respond_with(ResponseTemplate::new(200).set_body_json(quote.clone()))
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/quote/SLOW"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(quote)
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&provider)
        .await;
    let mut settings = ava::config::Settings::figment(None)
        .extract::<ava::config::Settings>()
        .unwrap()
        .market_data;
    settings.base_url = provider.uri();
    let market = HttpMarket::new(&settings).unwrap();
    let guard = Guard::new(
        "market data",
        GuardSettings {
            timeout_ms: 100,
            retries: 2,
            backoff_ms: 1,
            breaker_failures: 10,
            breaker_open_secs: 30,
        },
    );
    assert_eq!(guard.read(|| market.quote("AAPL")).await.unwrap().price, 191.5);
    assert_eq!(
        provider.received_requests().await.unwrap().len(),
        2,
        "one retry after the 503"
    );

    let err = guard.read(|| market.quote("SLOW")).await.unwrap_err();
    assert_eq!(
        err,
        IntegrationError::Unavailable {
            service: "market data",
            reason: "no answer within 100 ms".into()
        }
    );
    assert_eq!(guard.breaker().state(), ava::integrations::BreakerState::Closed);
}
