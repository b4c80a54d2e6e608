//! One conformance suite for every `MarketData` implementation: the simulated market, the HTTP
//! provider (served by wiremock with the simulator's data), Alpaca and Binance (fakes speaking
//! their wire format from recorded samples) and the router over Alpaca and Binance together.

use ava::{
    config::{Secret, Settings},
    integrations::{
        AlpacaMarket, BinanceMarket, HttpMarket, IntegrationError, MarketData, MarketRouter, OptionKind,
        SimulatedMarket, calendar,
        symbols::{self, SymbolKind},
    },
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::provider_fakes::{self, KEY_ID, SECRET_KEY};

/// What one provider is asked in the suite.
struct Case<'a> {
    name: &'a str,
    symbol: &'a str,
    unknown: &'a str,
}

async fn conforms(market: &impl MarketData, case: Case<'_>) {
    let Case {
        name,
        symbol,
        unknown,
    } = case;
    let kind = symbols::kind_of(symbol);
    let quote = market
        .quote(symbol)
        .await
        .unwrap_or_else(|e| panic!("{name}: quote: {e}"));
    assert_eq!(quote.symbol, symbol, "{name}");
    assert!(
        quote.price > 0.0 && quote.previous_close > 0.0,
        "{name}: {quote:?}"
    );
    assert_eq!(
        market.quote(unknown).await,
        Err(IntegrationError::UnknownSymbol(unknown.into())),
        "{name}: unknown symbols are told apart from failures"
    );
    let history = market.history(symbol, 7).await.unwrap();
    assert!(
        (3..=7).contains(&history.len()),
        "{name}: {} points",
        history.len()
    );
    assert!(
        history.windows(2).all(|w| w[0].at < w[1].at),
        "{name}: oldest first"
    );
    let last = history.last().unwrap();
    assert_eq!(
        last.price, quote.price,
        "{name}: one source of truth: the last bar is the quote's price"
    );
    if kind == SymbolKind::Crypto {
        assert_eq!(history.len(), 7, "{name}: crypto trades every day");
        assert!(
            matches!(
                market.options_chain(symbol).await,
                Err(IntegrationError::Rejected(_))
            ),
            "{name}: no options on a crypto pair"
        );
        return;
    }
    for bar in &history {
        assert!(
            calendar::is_trading_day(bar.at.date_naive()),
            "{name}: no bar on a day NYSE is closed: {bar:?}"
        );
    }
    let before = &history[history.len() - 2];
    assert_eq!(
        quote.previous_close, before.price,
        "{name}: previous close is the bar before"
    );
    let chain = market.options_chain(symbol).await.unwrap();
    for kind in [OptionKind::Put, OptionKind::Call] {
        assert!(chain.iter().any(|c| c.kind == kind), "{name}: {kind:?} listed");
    }
    assert!(
        chain.iter().all(|c| c.bid <= c.ask && c.bid > 0.0),
        "{name}: bid <= ask"
    );
}

fn market_settings() -> ava::config::MarketDataSettings {
    Settings::figment(None).extract::<Settings>().unwrap().market_data
}

/// Market settings pointing Alpaca and Binance at the fakes.
pub(crate) fn fake_provider_settings(
    alpaca: &MockServer,
    binance: &MockServer,
) -> ava::config::MarketDataSettings {
    let mut settings = market_settings();
    settings.alpaca.base_url = alpaca.uri();
    settings.alpaca.key_id = Secret::new(KEY_ID);
    settings.alpaca.secret_key = Secret::new(SECRET_KEY);
    settings.binance.base_url = binance.uri();
    settings
}

#[tokio::test]
async fn every_market_data_provider_conforms() {
    let simulated = SimulatedMarket::default();
    let stock = |name| Case {
        name,
        symbol: "AAPL",
        unknown: "NOPE",
    };
    conforms(&simulated, stock("simulated")).await;
    conforms(
        &simulated,
        Case {
            name: "simulated crypto",
            symbol: "BTC-USDT",
            unknown: "NOPE-USDT",
        },
    )
    .await;

    let server = MockServer::start().await;
    let routes = [
        (
            "/quote/AAPL",
            serde_json::to_value(simulated.quote("AAPL").await.unwrap()).unwrap(),
        ),
        (
            "/history/AAPL",
            serde_json::to_value(simulated.history("AAPL", 7).await.unwrap()).unwrap(),
        ),
        (
            "/options/AAPL",
            serde_json::to_value(simulated.options_chain("AAPL").await.unwrap()).unwrap(),
        ),
    ];
    for (route, body) in routes {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let mut settings = market_settings();
    settings.provider = "http".into();
    settings.base_url = server.uri();
    conforms(&HttpMarket::new(&settings).unwrap(), stock("http")).await;

    let alpaca = provider_fakes::alpaca_data().await;
    let binance = provider_fakes::binance().await;
    let settings = fake_provider_settings(&alpaca, &binance);
    let timeout = std::time::Duration::from_secs(3);
    conforms(
        &AlpacaMarket::new(&settings.alpaca, timeout, None).unwrap(),
        stock("alpaca"),
    )
    .await;
    let crypto = |name| Case {
        name,
        symbol: "BTC-USDT",
        unknown: "NOPE-USDT",
    };
    conforms(
        &BinanceMarket::new(&settings.binance, timeout, None).unwrap(),
        crypto("binance"),
    )
    .await;

    let mut routed = settings.clone();
    routed.providers = vec!["alpaca".into(), "binance".into()];
    let router = MarketRouter::build(&routed, None).unwrap();
    conforms(&router, stock("router: stocks")).await;
    conforms(&router, crypto("router: crypto")).await;
}

#[tokio::test]
async fn binance_answers_in_its_wire_format() {
    let binance = provider_fakes::binance().await;
    let settings = fake_provider_settings(&binance, &binance).binance;
    let market = BinanceMarket::new(&settings, std::time::Duration::from_secs(3), None).unwrap();
    let quote = market.quote("BTC-USDT").await.unwrap();
    assert_eq!((quote.price, quote.previous_close), (95_277.77, 96_512.33));
    assert_eq!(quote.volume, 18_235, "base-asset volume, rounded");
    assert!(
        (quote.change_pct() - -1.279).abs() < 0.01,
        "Binance's own 24 h change"
    );
    // Every spelling of a pair asks Binance for the same glued symbol.
    let requests = binance.received_requests().await.unwrap();
    assert!(
        requests[0].url.query().unwrap().contains("symbol=BTCUSDT"),
        "{:?}",
        requests[0].url
    );
    let bars = market.history("BTC-USDT", 7).await.unwrap();
    assert_eq!(bars.len(), 7);
    assert_eq!(bars[0].price, 93_110.5);
    assert!(
        bars.last().unwrap().at <= chrono::Utc::now(),
        "the running day is dated now, not tonight"
    );
    assert_eq!(
        market.quote("DOGE-EUR").await,
        Err(IntegrationError::UnknownSymbol("DOGE-EUR".into())),
        "Binance's -1121 is an unknown symbol"
    );
}

#[tokio::test]
async fn alpaca_reads_snapshots_bars_and_an_option_chain_with_greeks() {
    let alpaca = provider_fakes::alpaca_data().await;
    let settings = fake_provider_settings(&alpaca, &alpaca).alpaca;
    let market = AlpacaMarket::new(&settings, std::time::Duration::from_secs(3), None).unwrap();
    let quote = market.quote("AAPL").await.unwrap();
    assert_eq!(
        (quote.price, quote.previous_close, quote.volume),
        (277.55, 276.97, 612_345)
    );
    let requests = alpaca.received_requests().await.unwrap();
    assert!(
        requests[0].url.query().unwrap().contains("feed=iex"),
        "{:?}",
        requests[0].url
    );

    let chain = market.options_chain("AAPL").await.unwrap();
    // 4 expiries × 7 strikes × put and call, over two pages; the unbid 200 put is left out.
    assert_eq!(chain.len(), 56);
    assert!(chain.iter().all(|c| c.strike != 200.0));
    let put = chain
        .iter()
        .find(|c| c.kind == OptionKind::Put && c.strike == 270.0 && c.expiry.to_string() == "2026-12-18")
        .unwrap();
    assert!(
        put.delta.unwrap() < 0.0 && put.implied_volatility == Some(0.2412),
        "{put:?}"
    );
    assert!(
        chain.iter().all(|c| calendar::is_expiration_day(c.expiry)),
        "Dec 24 (Thursday before Christmas) is the week's expiry"
    );
    let chain_requests: Vec<_> = alpaca
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/v1beta1/options/snapshots/AAPL")
        .collect();
    assert_eq!(chain_requests.len(), 2, "followed next_page_token once");
    assert!(chain_requests[0].url.query().unwrap().contains("feed=indicative"));

    // A wrong key is a failure of the service (config), never "unknown ticker".
    let mut wrong = settings.clone();
    wrong.secret_key = Secret::new("nope");
    let market = AlpacaMarket::new(&wrong, std::time::Duration::from_secs(3), None).unwrap();
    assert!(market.quote("AAPL").await.unwrap_err().is_service_failure());
}
