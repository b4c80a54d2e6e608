//! Two schedulers, one leader: every periodic tick is enqueued exactly once.

use std::collections::BTreeMap;

use ava::scheduler::TickReport;

use crate::harness::TestApp;

#[tokio::test]
async fn two_schedulers_fire_each_tick_exactly_once() {
    let app = TestApp::spawn().await;
    let mut a = crate::harness::scheduler(&app.settings, "scheduler-a")
        .await
        .unwrap();
    let mut b = crate::harness::scheduler(&app.settings, "scheduler-b")
        .await
        .unwrap();
    // An hour-aligned start, so the expected slots are easy to count.
    let t0 = (chrono::Utc::now().timestamp_millis() as u64 / 3_600_000 + 1) * 3_600_000;
    let minute = 60_000;

    for i in 0..6 {
        let now = t0 + i * minute;
        let (ra, rb) = tokio::join!(a.tick(now), b.tick(now));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let leaders = [&ra, &rb]
            .iter()
            .filter(|r| matches!(r, TickReport::Leader(_)))
            .count();
        assert_eq!(leaders, 1, "exactly one leader at tick {i}: {ra:?} / {rb:?}");
    }
    // The leader goes away; the other takes over and repeats the last tick: nothing new.
    a.resign().await.unwrap();
    let b_repeat = b.tick(t0 + 5 * minute).await.unwrap();
    let a_after = a.tick(t0 + 5 * minute).await.unwrap();
    assert!(
        matches!(b_repeat, TickReport::Leader(ref ids) if ids.is_empty()),
        "{b_repeat:?}"
    );
    assert_eq!(a_after, TickReport::Follower);
    b.tick(t0 + 6 * minute).await.unwrap();

    let broker = app.broker();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let executed = workers::Runner::new(broker, |_job: workers::Job| async { workers::Outcome::Done })
        .run_pending()
        .await
        .unwrap();
    for job in executed.into_iter().map(|e| e.job) {
        assert_eq!(job.lane, workers::Lane::Low);
        *seen.entry(job.kind).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("alert_monitor", 7),              // minutes 0..=6
        ("conversation_timeout_sweep", 7), // one 10 s slot per tick
        ("data_collector", 2),             // 5-minute slots 0 and 5
        ("retention", 1),                  // one hour
        ("dead_letter_mirror", 7),         // minutes 0..=6
    ]
    .into_iter()
    .map(|(k, n)| (k.to_owned(), n))
    .collect();
    assert_eq!(seen, expected);
    app.cleanup().await;
}

#[tokio::test]
async fn the_data_collector_records_watched_symbols_for_history() {
    let app = TestApp::spawn().await;
    let mut scheduler = crate::harness::scheduler(&app.settings, "collector-test")
        .await
        .unwrap();
    scheduler
        .tick(chrono::Utc::now().timestamp_millis() as u64)
        .await
        .unwrap();
    crate::chat::drain(&app.worker).await;
    let symbols: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT symbol FROM price_history ORDER BY symbol")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let mut watchlist = app.settings.scheduler.watchlist.clone();
    watchlist.sort();
    assert_eq!(symbols, watchlist, "one quote per watched symbol");

    crate::chat::say(
        &app,
        &app.worker,
        crate::chat::message(600_001, "/history SPY 7d"),
    )
    .await;
    let history = crate::chat::last_sent_contains(&app, "<b>SPY</b>, last 7 days").await;
    // One row per NYSE session: no weekends or holidays (a holiday week has four).
    assert!(
        history.matches('$').count() >= 3,
        "a row per trading day: {history}"
    );
    let today = chrono::Utc::now().date_naive();
    for line in history.lines().filter(|l| l.contains('$') && !l.contains("<b>")) {
        let day = line.trim_start_matches("<pre>").get(..6).unwrap();
        let date = [chrono::Datelike::year(&today), chrono::Datelike::year(&today) - 1]
            .into_iter()
            .filter_map(|y| chrono::NaiveDate::parse_from_str(&format!("{day} {y}"), "%b %d %Y").ok())
            .find(|d| *d <= today)
            .unwrap();
        assert!(
            ava::integrations::calendar::is_trading_day(date),
            "{date} is not a session: {history}"
        );
    }
    app.cleanup().await;
}
