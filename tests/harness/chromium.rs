//! A real browser for the sign-in tests: Debian's headless Chromium driven
//! through `chromedriver` (W3C WebDriver, over HTTP on loopback). A machine
//! without them fails the test loudly: `scripts/test` installs `chromium`
//! and `chromium-driver`. The driver and the browser stop with the guard.

use serde_json::{Value, json};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Chromium {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

/// W3C WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Chromium {
    /// A headless browser, ready for commands.
    pub async fn start() -> Chromium {
        let port = super::free_port();
        // A process group of its own: the browsers it starts are in it too,
        // and go with it (a test that fails never leaves one running).
        let driver = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("chromedriver cannot start ({e}): scripts/test installs chromium and chromium-driver")
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a client for chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-proxy-server"],
            },
        }}});
        let mut chromium = Chromium {
            driver,
            base,
            session: String::new(),
            http,
        };
        let created = chromium.call("POST", "/session", Some(capabilities)).await;
        chromium.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_string();
        chromium
    }

    /// One WebDriver command: its `value`.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.post(&url).json(&body.unwrap_or(json!({}))),
        };
        let answer: Value = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("chromedriver {path}: {e}"))
            .json()
            .await
            .expect("chromedriver answers JSON");
        answer["value"].clone()
    }

    fn session_path(&self, tail: &str) -> String {
        format!("/session/{}{tail}", self.session)
    }

    /// Opens `url` (waits for the page to load).
    pub async fn open(&self, url: &str) {
        self.call(
            "POST",
            &self.session_path("/url"),
            Some(json!({ "url": url })),
        )
        .await;
    }

    /// The address the browser is at.
    pub async fn url(&self) -> String {
        self.call("GET", &self.session_path("/url"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's text.
    pub async fn text(&self) -> String {
        let body = self.find("body").await;
        self.call(
            "GET",
            &self.session_path(&format!("/element/{body}/text")),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The element `css` selects, within ten seconds.
    async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .call(
                    "POST",
                    &self.session_path("/element"),
                    Some(json!({ "using": "css selector", "value": css })),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_string();
            }
            assert!(Instant::now() < deadline, "no element {css}: {found}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the field `css` selects.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            "POST",
            &self.session_path(&format!("/element/{element}/clear")),
            None,
        )
        .await;
        self.call(
            "POST",
            &self.session_path(&format!("/element/{element}/value")),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Clicks what `css` selects.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            "POST",
            &self.session_path(&format!("/element/{element}/click")),
            None,
        )
        .await;
    }
}

impl Chromium {
    /// Ends the browser (the session), then the driver.
    pub async fn quit(self) {
        self.call("DELETE", &self.session_path(""), None).await;
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // After `quit`, or a test that failed first: the driver and every
        // browser it started go either way.
        if let Ok(group) = i32::try_from(self.driver.id()) {
            // SAFETY: kill(2) with a negative pid signals that process group only.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.driver.wait();
    }
}
