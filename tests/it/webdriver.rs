//! Headless Chromium driven through chromedriver's W3C WebDriver HTTP protocol, spoken directly
//! with reqwest: a session, elements by CSS selector, typing, clicking, text, screenshots.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

/// W3C's key for an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both end on drop.
pub(crate) struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    profile: PathBuf,
}

fn need(binary: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let path = Path::new(dir).join(binary);
        if path.exists() {
            return path;
        }
    }
    panic!("{binary} is not installed. Install it: apt-get install -y chromium chromium-driver");
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session `width`×`height`.
    pub(crate) async fn start(width: u32, height: u32) -> Self {
        let chromium = need("chromium");
        let chromedriver = need("chromedriver");
        // A free port: bind, read it, release it for chromedriver.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir().join(format!("ava-chromium-{:016x}", rand::random::<u64>()));
        let mut browser = Self {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            profile,
        };
        let mut up = false;
        for _ in 0..100 {
            if let Ok(r) = browser.http.get(format!("{}/status", browser.base)).send().await
                && let Ok(status) = r.json::<Value>().await
                && status["value"]["ready"] == json!(true)
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "chromedriver did not answer on port {port} within 10 s");
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", browser.profile.display()),
        ];
        let session = browser
            .http
            .post(format!("{}/session", browser.base))
            .json(&json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium, "args": args }
            }}}))
            .send()
            .await
            .expect("chromedriver reachable")
            .json::<Value>()
            .await
            .expect("session answer");
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {session}"));
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        // POST commands need a JSON body, even an empty one.
        req = req.json(&body.unwrap_or(json!({})));
        let answer: Value = req
            .send()
            .await
            .expect("chromedriver reachable")
            .json()
            .await
            .expect("WebDriver JSON");
        if answer["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub(crate) async fn eval(&self, script: &str, args: Value) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Waits (up to 20 s) until `script` returns something truthy, and returns it.
    pub(crate) async fn wait_for(&self, what: &str, script: &str, args: Value) -> Value {
        for _ in 0..200 {
            let v = self.eval(script, args.clone()).await;
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!([])) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = self.eval("return document.body.innerText", json!([])).await;
        panic!(
            "timed out waiting for {what}; the page shows:\n{}",
            text.as_str().unwrap_or_default()
        );
    }

    async fn find(&self, css: &str) -> String {
        let el = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        el[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element reference for {css}: {el}"))
            .to_owned()
    }

    /// Types `text` into the element at `css` (real key events; "\n" is Enter).
    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.command(reqwest::Method::POST, &format!("/element/{el}/click"), None)
            .await;
    }

    /// Picks the `<option>` whose text starts with `label` in the `<select>` at `css`.
    pub(crate) async fn select(&self, css: &str, label: &str) {
        let index = self
            .wait_for(
                &format!("option {label:?} in {css}"),
                "const s = document.querySelector(arguments[0]); if (!s) return null;
                 const i = [...s.options].findIndex(o => o.textContent.startsWith(arguments[1]));
                 return i >= 0 ? String(i) : null;",
                json!([css, label]),
            )
            .await;
        let option = format!(
            "{css} option:nth-child({})",
            index.as_str().unwrap().parse::<u32>().unwrap() + 1
        );
        self.click(&option).await;
    }

    /// Saves a PNG of the viewport to `path`.
    pub(crate) async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let png = self.command(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 PNG"))
            .expect("valid base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, bytes).expect("screenshot written");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the session (closes Chromium), then our chromedriver, by its own handle.
        end_session(&self.base);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `DELETE <session>` over a plain blocking socket: `drop` cannot await.
fn end_session(session_url: &str) {
    use std::io::{Read, Write};
    let Some(rest) = session_url.strip_prefix("http://") else {
        return;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return;
    };
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request =
        format!("DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}
