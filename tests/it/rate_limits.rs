//! Provider request rates shared by every worker through Redis: two limiter instances on their
//! own connections (two "workers") never exceed the rate together, and a provider's 429 pauses
//! both for its Retry-After.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use ava::integrations::{BinanceMarket, MarketData, RateLimiter};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

use crate::{harness::TestApp, provider_fakes};

/// A Binance fake that notes when each request arrived; the first `refuse` get a 429.
#[derive(Clone)]
struct Counting {
    arrivals: Arc<Mutex<Vec<(SystemTime, Instant)>>>,
    refuse: usize,
}

impl Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut arrivals = self.arrivals.lock().unwrap();
        arrivals.push((SystemTime::now(), Instant::now()));
        if arrivals.len() <= self.refuse {
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(provider_fakes::fixture("binance_error_rate_limit.json"))
        } else {
            ResponseTemplate::new(200).set_body_json(provider_fakes::binance_ticker())
        }
    }
}

async fn counting_fake(refuse: usize) -> (MockServer, Counting) {
    let server = MockServer::start().await;
    let fake = Counting {
        arrivals: Arc::default(),
        refuse,
    };
    Mock::given(any()).respond_with(fake.clone()).mount(&server).await;
    (server, fake)
}

/// A "worker": its own Redis connection, its own limiter, its own client.
async fn worker(app: &TestApp, server: &MockServer, rate: u32) -> BinanceMarket {
    let conn = workers::RedisConn::connect_url(app.settings.redis.url.expose())
        .await
        .expect("Redis at redis.url (start one: redis-server --port 6379)");
    let limiter = RateLimiter::new(conn, &app.settings.redis.prefix, "binance", rate);
    let mut settings = app.settings.market_data.binance.clone();
    settings.base_url = server.uri();
    BinanceMarket::new(&settings, Duration::from_secs(10), Some(limiter)).unwrap()
}

#[tokio::test]
async fn the_rate_limit_holds_across_two_workers() {
    let app = TestApp::spawn().await;
    let (server, fake) = counting_fake(0).await;
    let rate = 5;
    let (a, b) = (
        worker(&app, &server, rate).await,
        worker(&app, &server, rate).await,
    );
    let started = Instant::now();
    // Each worker runs three tasks of four quotes: 24 requests, as fast as they are let through.
    let mut tasks = Vec::new();
    for market in [a, b] {
        for _ in 0..3 {
            let market = market.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..4 {
                    market.quote("BTC-USDT").await.unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let arrivals = fake.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 24);
    let mut per_second = std::collections::BTreeMap::<u64, u32>::new();
    for (at, _) in &arrivals {
        *per_second
            .entry(at.duration_since(UNIX_EPOCH).unwrap().as_secs())
            .or_default() += 1;
    }
    let busiest = per_second.values().copied().max().unwrap();
    println!("24 requests in {elapsed:?}; per wall-clock second: {per_second:?}");
    assert!(
        busiest <= rate,
        "at most {rate} a second across both workers: {per_second:?}"
    );
    // Without the shared limit all 24 would land in the first second.
    assert!(elapsed >= Duration::from_millis(3_900), "{elapsed:?}");
    app.cleanup().await;
}

#[tokio::test]
async fn a_429_pauses_every_worker_for_its_retry_after() {
    let app = TestApp::spawn().await;
    let (server, fake) = counting_fake(1).await;
    let (a, b) = (worker(&app, &server, 50).await, worker(&app, &server, 50).await);
    let first = tokio::spawn(async move { a.quote("BTC-USDT").await });
    let deadline = Instant::now() + Duration::from_secs(5);
    while fake.arrivals.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the first request never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Worker B had no 429 of its own; it waits out A's.
    let quote = b.quote("BTC-USDT").await.unwrap();
    assert_eq!(quote.price, 95_277.77);
    first.await.unwrap().expect("A's call succeeds after the pause");
    let arrivals = fake.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 3, "the refused request, A's retry and B's");
    let refused_at = arrivals[0].1;
    for (_, at) in &arrivals[1..] {
        assert!(
            at.duration_since(refused_at) >= Duration::from_millis(950),
            "a request went out {:?} after the 429 (Retry-After: 1)",
            at.duration_since(refused_at)
        );
    }
    app.cleanup().await;
}
