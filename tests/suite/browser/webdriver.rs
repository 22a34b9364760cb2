//! A small, blocking W3C WebDriver client over `ureq`: the dozen commands
//! the browser tests use, and nothing else.
//!
//! Why not fantoccini: it brings hyper's client, `url` with `std` and syn's
//! `fold`, and those features, unified into `cargo test --workspace`, gave
//! every crate a second feature set. The suite's `cargo build -p setu-node`
//! then compiled the whole dependency tree a second time (minutes of CI on
//! two cores, and gigabytes of `target/`). WebDriver is JSON over HTTP
//! (<https://www.w3.org/TR/webdriver2/>), so this file is what it costs.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The longest any one WebDriver command may take (a page load included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A WebDriver error: the command, and what the driver said.
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// One browser session.
pub struct Client {
    agent: ureq::Agent,
    /// `http://driver/session/{id}`
    base: String,
}

/// An element of the current page.
pub struct Element<'c> {
    client: &'c Client,
    id: String,
}

impl Client {
    /// Opens a session on the driver at `driver` with these capabilities
    /// (merged into `alwaysMatch`).
    pub fn connect(driver: &str, capabilities: Value) -> Result<Client> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(COMMAND_TIMEOUT))
            .build()
            .into();
        let answer = call(
            &agent,
            "POST",
            &format!("{driver}/session"),
            Some(json!({"capabilities": {"alwaysMatch": capabilities}})),
        )?;
        let id = answer["sessionId"]
            .as_str()
            .ok_or_else(|| Error(format!("new session: no sessionId in {answer}")))?;
        Ok(Client {
            agent,
            base: format!("{driver}/session/{id}"),
        })
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        call(&self.agent, method, &format!("{}{path}", self.base), body)
    }

    /// Navigates and waits for the page to load.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .map(drop)
    }

    pub fn current_url(&self) -> Result<String> {
        string(self.cmd("GET", "/url", None)?)
    }

    /// The first element matching a CSS selector, or an error if none does.
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let v = self.cmd("POST", "/element", Some(locator(css)))?;
        self.element(&v)
    }

    /// Every element matching a CSS selector (possibly none).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let v = self.cmd("POST", "/elements", Some(locator(css)))?;
        let list = v
            .as_array()
            .ok_or_else(|| Error(format!("find_all {css}: not a list: {v}")))?;
        list.iter().map(|e| self.element(e)).collect()
    }

    pub fn active_element(&self) -> Result<Element<'_>> {
        let v = self.cmd("GET", "/element/active", None)?;
        self.element(&v)
    }

    /// Runs a script (`return …` gives its value).
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs a script that calls its last argument with its value.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        let b64 = string(self.cmd("GET", "/screenshot", None)?)?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| Error(format!("screenshot: not base64: {e}")))
    }

    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .map(drop)
    }

    /// Ends the session (the browser quits).
    pub fn close(self) -> Result<()> {
        self.cmd("DELETE", "", None).map(drop)
    }

    fn element(&self, v: &Value) -> Result<Element<'_>> {
        let id = v[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| Error(format!("not an element reference: {v}")))?;
        Ok(Element {
            client: self,
            id: id.to_string(),
        })
    }
}

impl Element<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        self.client
            .cmd(method, &format!("/element/{}{path}", self.id), body)
    }

    pub fn text(&self) -> Result<String> {
        string(self.cmd("GET", "/text", None)?)
    }

    /// An attribute, `None` when the element lacks it.
    pub fn attr(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .cmd("GET", &format!("/attribute/{name}"), None)?
            .as_str()
            .map(str::to_string))
    }

    /// A DOM property as a string, `None` when it is not a string.
    pub fn prop(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .cmd("GET", &format!("/property/{name}"), None)?
            .as_str()
            .map(str::to_string))
    }

    pub fn css_value(&self, name: &str) -> Result<String> {
        string(self.cmd("GET", &format!("/css/{name}"), None)?)
    }

    pub fn is_displayed(&self) -> Result<bool> {
        self.cmd("GET", "/displayed", None)?
            .as_bool()
            .ok_or_else(|| Error("displayed: not a boolean".into()))
    }

    pub fn click(&self) -> Result<()> {
        self.cmd("POST", "/click", Some(json!({}))).map(drop)
    }

    pub fn clear(&self) -> Result<()> {
        self.cmd("POST", "/clear", Some(json!({}))).map(drop)
    }

    /// Types `text` (WebDriver key codes such as `\u{e004}`, Tab, included).
    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.cmd("POST", "/value", Some(json!({ "text": text })))
            .map(drop)
    }

    /// Chooses the `<option>` of this `<select>` with this value.
    pub fn select_by_value(&self, value: &str) -> Result<()> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(locator(&format!("option[value='{value}']"))),
        )?;
        self.client.element(&v)?.click()
    }
}

fn locator(css: &str) -> Value {
    json!({"using": "css selector", "value": css})
}

fn string(v: Value) -> Result<String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| Error(format!("expected a string, got {v}")))
}

/// One command: the `value` of the answer, or the driver's error.
fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Result<Value> {
    let sent = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, Some(b)) => agent.post(url).send_json(&b),
        (_, None) => agent.post(url).send_empty(),
    };
    let mut r = sent.map_err(|e| Error(format!("{method} {url}: {e}")))?;
    let status = r.status().as_u16();
    let answer: Value = r
        .body_mut()
        .read_json()
        .map_err(|e| Error(format!("{method} {url}: HTTP {status}, not JSON: {e}")))?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if status == 200 {
        Ok(value)
    } else {
        Err(Error(format!(
            "{method} {url}: HTTP {status}, {}: {}",
            value["error"].as_str().unwrap_or("error"),
            value["message"].as_str().unwrap_or("")
        )))
    }
}
