//! Fake Binance and Alpaca servers that speak the providers' documented wire format, answering
//! from the JSON samples in `tests/fixtures/providers/`. Dates in the samples are moved to
//! "now" at serve time (whole weeks for stock bars, so weekdays stay weekdays).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{any, header, method, path, path_regex, query_param},
};

/// The key pair the Alpaca fakes accept.
pub(crate) const KEY_ID: &str = "PKTESTKEY123";
/// The secret the Alpaca fakes accept.
pub(crate) const SECRET_KEY: &str = "s3cr3t-never-logged";

/// A sample response from `tests/fixtures/providers/`.
pub(crate) fn fixture(name: &str) -> Value {
    let file = format!("{}/tests/fixtures/providers/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Daily klines moved so the last one is today's (still running) UTC day.
pub(crate) fn binance_klines() -> Value {
    let mut klines = fixture("binance_klines_BTCUSDT_1d.json");
    let rows = klines.as_array_mut().unwrap();
    let last_open = rows.last().unwrap()[0].as_i64().unwrap();
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_millis();
    let shift = today - last_open;
    for row in rows {
        for i in [0, 6] {
            row[i] = json!(row[i].as_i64().unwrap() + shift);
        }
    }
    klines
}

/// The 24 h ticker as of now.
pub(crate) fn binance_ticker() -> Value {
    let mut ticker = fixture("binance_ticker_24hr_BTCUSDT.json");
    let now = Utc::now().timestamp_millis();
    ticker["closeTime"] = json!(now);
    ticker["openTime"] = json!(now - 86_400_000);
    ticker
}

/// A Binance fake: BTCUSDT's ticker and klines; any other symbol is Binance's -1121.
pub(crate) async fn binance() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v3/ticker/24hr"))
        .and(query_param("symbol", "BTCUSDT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(binance_ticker()))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v3/klines"))
        .and(query_param("symbol", "BTCUSDT"))
        .and(query_param("interval", "1d"))
        .respond_with(ResponseTemplate::new(200).set_body_json(binance_klines()))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("binance_error_invalid_symbol.json")))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// Daily bars moved forward by whole weeks so the last is within the past week.
pub(crate) fn alpaca_bars() -> Value {
    let mut bars = fixture("alpaca_bars_AAPL.json");
    let list = bars["bars"].as_array_mut().unwrap();
    let date_of = |b: &Value| NaiveDate::parse_from_str(&b["t"].as_str().unwrap()[..10], "%Y-%m-%d").unwrap();
    let last = date_of(list.last().unwrap());
    let weeks = (Utc::now().date_naive() - last).num_days().max(0) / 7;
    for bar in list {
        let d = date_of(bar) + Duration::weeks(weeks);
        bar["t"] = json!(format!("{}T05:00:00Z", d));
        assert!(d.weekday().num_days_from_monday() < 5);
    }
    bars
}

/// An Alpaca market data fake: AAPL's snapshot, bars and option chain (two pages); other
/// symbols 404; wrong or missing keys 401.
pub(crate) async fn alpaca_data() -> MockServer {
    let server = MockServer::start().await;
    let authed = || {
        Mock::given(method("GET"))
            .and(header("APCA-API-KEY-ID", KEY_ID))
            .and(header("APCA-API-SECRET-KEY", SECRET_KEY))
    };
    authed()
        .and(path("/v2/stocks/AAPL/snapshot"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("alpaca_snapshot_AAPL.json")))
        // Priority 1 is left for a test to override the sample.
        .with_priority(2)
        .mount(&server)
        .await;
    authed()
        .and(path("/v2/stocks/AAPL/bars"))
        .and(query_param("timeframe", "1Day"))
        .respond_with(ResponseTemplate::new(200).set_body_json(alpaca_bars()))
        .with_priority(1)
        .mount(&server)
        .await;
    let page1 = fixture("alpaca_option_snapshots_AAPL_page1.json");
    let token = page1["next_page_token"].as_str().unwrap().to_owned();
    authed()
        .and(path("/v1beta1/options/snapshots/AAPL"))
        .and(query_param("page_token", token.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("alpaca_option_snapshots_AAPL_page2.json")),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    authed()
        .and(path("/v1beta1/options/snapshots/AAPL"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page1))
        .with_priority(2)
        .mount(&server)
        .await;
    authed()
        .and(path_regex("^/(v2/stocks|v1beta1/options/snapshots)/"))
        .respond_with(ResponseTemplate::new(404).set_body_json(fixture("alpaca_error_not_found.json")))
        .with_priority(5)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "unauthorized."})))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// One order the broker fake holds.
#[derive(Debug, Clone)]
pub(crate) struct FakeOrder {
    pub(crate) id: String,
    pub(crate) client_order_id: String,
    pub(crate) symbol: String,
    pub(crate) qty: f64,
    pub(crate) limit_price: f64,
    pub(crate) status: &'static str,
    pub(crate) filled_qty: f64,
}

/// What the broker fake has seen and holds.
#[derive(Debug, Default)]
pub(crate) struct Book {
    /// Orders by id.
    pub(crate) orders: BTreeMap<String, FakeOrder>,
    /// POST /v2/orders received (placed or not).
    pub(crate) posts: usize,
}

/// An Alpaca trading API fake with the exchange's behaviour: `client_order_id` unique (422),
/// 403 beyond options buying power, an order of 10 or more fills half at once (partially
/// filled), any other is accepted and filled when next read.
#[derive(Clone)]
pub(crate) struct AlpacaBrokerFake {
    pub(crate) book: Arc<Mutex<Book>>,
    buying_power: f64,
}

impl AlpacaBrokerFake {
    fn order_json(o: &FakeOrder) -> Value {
        let mut v = fixture("alpaca_order.json");
        v["id"] = json!(o.id);
        v["client_order_id"] = json!(o.client_order_id);
        v["symbol"] = json!(o.symbol);
        v["qty"] = json!(format!("{}", o.qty));
        v["filled_qty"] = json!(format!("{}", o.filled_qty));
        v["limit_price"] = json!(format!("{}", o.limit_price));
        v["status"] = json!(o.status);
        v["filled_avg_price"] = if o.filled_qty > 0.0 {
            json!(format!("{}", o.limit_price))
        } else {
            Value::Null
        };
        v
    }

    fn place(&self, body: &Value) -> ResponseTemplate {
        let mut book = self.book.lock().unwrap();
        book.posts += 1;
        let client_order_id = body["client_order_id"].as_str().unwrap_or_default().to_owned();
        if book.orders.values().any(|o| o.client_order_id == client_order_id) {
            return ResponseTemplate::new(422)
                .set_body_json(fixture("alpaca_error_duplicate_client_order_id.json"));
        }
        let symbol = body["symbol"].as_str().unwrap_or_default().to_owned();
        let qty: f64 = body["qty"].as_str().and_then(|q| q.parse().ok()).unwrap_or(0.0);
        let limit_price: f64 = body["limit_price"]
            .as_str()
            .and_then(|q| q.parse().ok())
            .unwrap_or(0.0);
        let option = symbol.chars().any(|c| c.is_ascii_digit());
        let cost = match (body["side"].as_str(), option) {
            (Some("buy"), false) => qty * limit_price,
            (Some("buy"), true) => qty * limit_price * 100.0,
            // A short put is secured by its strike; the OCC symbol's last eight digits.
            (_, true) if symbol.as_bytes()[symbol.len() - 9] == b'P' => {
                qty * symbol[symbol.len() - 8..].parse::<f64>().unwrap() / 1000.0 * 100.0
            }
            _ => 0.0,
        };
        if cost > self.buying_power {
            return ResponseTemplate::new(403)
                .set_body_json(fixture("alpaca_error_insufficient_buying_power.json"));
        }
        let (status, filled_qty) = if qty >= 10.0 {
            ("partially_filled", (qty / 2.0).floor())
        } else {
            ("accepted", 0.0)
        };
        let order = FakeOrder {
            id: format!("61e69015-8549-4bfd-b9c3-{:012}", book.orders.len() + 1),
            client_order_id,
            symbol,
            qty,
            limit_price,
            status,
            filled_qty,
        };
        book.orders.insert(order.id.clone(), order.clone());
        ResponseTemplate::new(200).set_body_json(Self::order_json(&order))
    }

    /// Reads an order; an accepted one has filled by then.
    fn read(&self, find: impl Fn(&FakeOrder) -> bool) -> ResponseTemplate {
        let mut book = self.book.lock().unwrap();
        match book.orders.values_mut().find(|o| find(o)) {
            Some(o) => {
                if o.status == "accepted" {
                    o.status = "filled";
                    o.filled_qty = o.qty;
                }
                ResponseTemplate::new(200).set_body_json(Self::order_json(o))
            }
            None => ResponseTemplate::new(404).set_body_json(fixture("alpaca_error_not_found.json")),
        }
    }

    /// Orders placed (not counting refused duplicates).
    pub(crate) fn placed(&self) -> usize {
        self.book.lock().unwrap().orders.len()
    }
}

impl Respond for AlpacaBrokerFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authed = request
            .headers
            .get("APCA-API-KEY-ID")
            .is_some_and(|v| v == KEY_ID)
            && request
                .headers
                .get("APCA-API-SECRET-KEY")
                .is_some_and(|v| v == SECRET_KEY);
        if !authed {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "unauthorized."}));
        }
        let p = request.url.path();
        match (request.method.as_str(), p) {
            ("GET", "/v2/account") => {
                ResponseTemplate::new(200).set_body_json(fixture("alpaca_account.json"))
            }
            ("GET", "/v2/positions") => {
                ResponseTemplate::new(200).set_body_json(fixture("alpaca_positions.json"))
            }
            ("POST", "/v2/orders") => match serde_json::from_slice::<Value>(&request.body) {
                Ok(body) => self.place(&body),
                Err(_) => ResponseTemplate::new(400)
                    .set_body_json(json!({"code": 40010000, "message": "invalid body"})),
            },
            ("GET", "/v2/orders:by_client_order_id") => {
                let wanted = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "client_order_id")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                self.read(|o| o.client_order_id == wanted)
            }
            ("GET", p) if p.starts_with("/v2/orders/") => {
                let id = p.trim_start_matches("/v2/orders/").to_owned();
                self.read(|o| o.id == id)
            }
            _ => ResponseTemplate::new(404).set_body_json(fixture("alpaca_error_not_found.json")),
        }
    }
}

/// Starts the broker fake; buying power as in the account sample.
pub(crate) async fn alpaca_broker() -> (MockServer, AlpacaBrokerFake) {
    let server = MockServer::start().await;
    let fake = AlpacaBrokerFake {
        book: Arc::default(),
        buying_power: fixture("alpaca_account.json")["options_buying_power"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    };
    Mock::given(any()).respond_with(fake.clone()).mount(&server).await;
    (server, fake)
}
