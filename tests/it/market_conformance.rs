//! One conformance suite for every `MarketData` implementation: the simulated market, and the
//! HTTP provider (served here by wiremock with the simulator's data).

use ava::integrations::{HttpMarket, IntegrationError, MarketData, OptionKind, SimulatedMarket};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

async fn conforms(market: &impl MarketData, name: &str) {
    let quote = market
        .quote("AAPL")
        .await
        .unwrap_or_else(|e| panic!("{name}: quote: {e}"));
    assert_eq!(quote.symbol, "AAPL", "{name}");
    assert!(
        quote.price > 0.0 && quote.previous_close > 0.0,
        "{name}: {quote:?}"
    );
    assert_eq!(
        market.quote("NOPE").await,
        Err(IntegrationError::UnknownSymbol("NOPE".into())),
        "{name}: unknown symbols are told apart from failures"
    );
    let history = market.history("AAPL", 7).await.unwrap();
    assert!(
        (5..=7).contains(&history.len()),
        "{name}: {} points",
        history.len()
    );
    assert!(
        history.windows(2).all(|w| w[0].at < w[1].at),
        "{name}: oldest first"
    );
    let chain = market.options_chain("AAPL").await.unwrap();
    for kind in [OptionKind::Put, OptionKind::Call] {
        assert!(chain.iter().any(|c| c.kind == kind), "{name}: {kind:?} listed");
    }
    assert!(
        chain.iter().all(|c| c.bid <= c.ask && c.bid > 0.0),
        "{name}: bid <= ask"
    );
}

#[tokio::test]
async fn every_market_data_provider_conforms() {
    let simulated = SimulatedMarket::default();
    conforms(&simulated, "simulated").await;

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
    let mut settings = ava::config::Settings::figment(None)
        .extract::<ava::config::Settings>()
        .unwrap()
        .market_data;
    settings.provider = "http".into();
    settings.base_url = server.uri();
    conforms(&HttpMarket::new(&settings).unwrap(), "http").await;
}
