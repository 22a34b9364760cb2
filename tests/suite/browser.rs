//! The web catalogue in a real browser: a `setu run` daemon holding the
//! sample catalogue, Debian's headless Chromium driven through
//! `chromedriver` with the small WebDriver client in `browser/webdriver.rs`. It searches in English and in Bangla,
//! applies facets, opens a practice, checks the TCV chart and the
//! citation's copy button, switches language (Bangla, and Arabic right to
//! left), renders at a 375 px wide viewport with no sideways scrolling,
//! and runs axe-core (vendored, `tests/assets/`) on both pages: no
//! violation of impact "serious" or "critical". It takes a screenshot of
//! the practice page, saved as `docs/screenshots/practice.png` when
//! `SETU_SCREENSHOTS` is set. A WebM clip
//! attached to a practice (`tests/assets/clip.webm`) is listed on its page
//! and plays from the node in the page's own player, seeking included: the
//! browser reads it with HTTP range requests. A second node fetches the
//! clip from the first when its page's "Fetch to this node" is clicked.
//!
//! Chromium and chromedriver are required (`apt-get install -y chromium
//! chromium-driver`): without them this test fails, naming them.

mod webdriver;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use setu_tests::{repo_root, setu_bin};
use tempfile::TempDir;
use webdriver::{Client, Element};

/// Set (to anything) to save the practice page's screenshot as
/// `docs/screenshots/practice.png`, the README's picture.
const SCREENSHOTS_ENV: &str = "SETU_SCREENSHOTS";

/// Where Debian's `chromium` package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts the driver.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The longest wait for any one condition (a page, an element, a daemon).
const WAIT: Duration = Duration::from_secs(30);
/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(50);
/// The phone-sized viewport width checked.
const PHONE_WIDTH: u32 = 375;
/// The phone-sized viewport height.
const PHONE_HEIGHT: u32 = 812;
/// The desktop window for the screenshot.
const DESKTOP: (u32, u32) = (1280, 1500);
/// The member id and agency of the test network's one founder.
const MEMBER: &str = "bgd-a2i";
const AGENCY: &str = "a2i, ICT Division";
/// The clip attached to BGD-A2I-0001: 8 s of VP8 (`tests/assets/README.md`).
const CLIP: &str = "tests/assets/clip.webm";
/// Its title.
const CLIP_TITLE: &str = "A test clip";
/// Its length in seconds.
const CLIP_SECONDS: f64 = 8.0;
/// Where the test seeks to, in seconds.
const SEEK_TO: f64 = 5.0;
/// The Content-Security-Policy every page must carry.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; media-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn setu(dir: Option<&Path>, args: &[&str], cwd: &Path) -> String {
    let mut cmd = Command::new(setu_bin());
    if let Some(d) = dir {
        cmd.arg("--data-dir").arg(d);
    }
    let o: Output = cmd.args(args).current_dir(cwd).output().expect("setu runs");
    let s = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "setu {args:?} failed: {s}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    s
}

/// Polls `cond` until it holds; panics after [`WAIT`], naming `what`.
fn wait(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A data directory in a one-member chartered network (so pages can name
/// the agency), holding the sample catalogue; and the daemon serving it.
fn start_daemon(tmp: &Path) -> (Killed, String) {
    let key = tmp.join("bgd.pem");
    let key_s = key.to_str().expect("utf-8 path");
    let public = setu(None, &["keys", "generate", "--out", key_s], tmp);
    let members = format!(
        "[[member]]\nid = \"{MEMBER}\"\ncountry = \"BGD\"\nagency = \"{AGENCY}\"\nkey = \"{}\"\n",
        public.trim()
    );
    std::fs::write(tmp.join("members.toml"), members).expect("members.toml");
    setu(
        None,
        &[
            "charter",
            "new",
            "--name",
            "Browser test",
            "--members",
            "members.toml",
            "--threshold",
            "1/2+1",
            "--out",
            "charter.draft",
        ],
        tmp,
    );
    setu(
        None,
        &["charter", "sign", "charter.draft", "--key", key_s],
        tmp,
    );
    setu(
        None,
        &["charter", "seal", "charter.draft", "--out", "charter.cbor"],
        tmp,
    );
    let data = tmp.join("node");
    setu(
        Some(&data),
        &["init", "--charter", "charter.cbor", "--key", key_s],
        tmp,
    );
    let sample = repo_root().join("node/data/sample/practices.jsonl");
    setu(
        Some(&data),
        &["import", sample.to_str().expect("utf-8 path")],
        tmp,
    );
    let clip = repo_root().join(CLIP);
    setu(
        Some(&data),
        &[
            "attach",
            "BGD-A2I-0001",
            clip.to_str().expect("utf-8 path"),
            "--title",
            CLIP_TITLE,
            "--category",
            "video",
        ],
        tmp,
    );
    run_daemon(&data, &[])
}

/// `setu run` on `data`, on loopback ports of its choosing, with `extra`
/// arguments; returns it and its API's URL once it wrote `api.url`.
fn run_daemon(data: &Path, extra: &[&str]) -> (Killed, String) {
    let child = Command::new(setu_bin())
        .arg("--data-dir")
        .arg(data)
        .args([
            "run",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            "127.0.0.1:0",
            "--no-mdns",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("setu run starts");
    let child = Killed(child);
    let file = data.join("api.url");
    wait(&format!("{} to write api.url", data.display()), || {
        file.exists()
    });
    let url = std::fs::read_to_string(&file)
        .expect("api.url")
        .trim()
        .to_string();
    (child, url)
}

/// A second node of the same network (a reader, not a member), which
/// fetches nothing by itself and knows the first node: what it holds of
/// the clip comes only from a click on its own page.
fn start_reader(tmp: &Path, first: &str) -> (Killed, String) {
    let data = tmp.join("reader");
    setu(
        Some(&data),
        &[
            "init",
            "--charter",
            "charter.cbor",
            "--country",
            "KEN",
            "--agency",
            "Huduma Kenya",
        ],
        tmp,
    );
    let toml_path = data.join("setu.toml");
    let toml = std::fs::read_to_string(&toml_path).expect("setu.toml");
    assert!(toml.contains("\n[network]\n"), "{toml}");
    let toml = toml.replacen(
        "\n[network]\n",
        "\n[network]\nattachment_auto_fetch_bytes = 0\n",
        1,
    );
    std::fs::write(&toml_path, toml).expect("setu.toml");
    let mut r = agent()
        .get(format!("{first}/v1/status"))
        .call()
        .expect("GET /v1/status");
    let status: Value =
        serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json");
    let peer = status["net"]["listen"][0]
        .as_str()
        .expect("the first node's address")
        .to_string();
    run_daemon(&data, &["--peer", &peer])
}

/// On the reader's page the clip is not yet available; a click on "Fetch
/// to this node" fetches it from the first node, and the page (which
/// reloads itself while the fetch runs) ends with the player, which plays
/// the clip from the reader.
fn fetch_on_click(c: &Client, reader: &str) {
    let page = format!("{reader}/practices/BGD-A2I-0001");
    // The records replicate first: until then the page is a 404.
    wait("the reader to list the clip", || {
        c.goto(&page).is_ok() && c.find("section.attachments form.fetch button").is_ok()
    });
    let listed = text(c, "section.attachments");
    assert!(
        listed.contains("Not yet available on this node"),
        "{listed}"
    );
    assert!(c.find("section.attachments video").is_err(), "not held yet");
    mark_page(c);
    find(c, "section.attachments form.fetch button")
        .click()
        .expect("click Fetch to this node");
    wait_new_page(c, "the page after the click");
    wait("the clip to arrive and the page to show its player", || {
        c.find("section.attachments video").is_ok() && loaded(c)
    });
    let duration = wait_duration(c);
    assert!(
        (duration - CLIP_SECONDS).abs() < 0.5,
        "the reader plays the {CLIP_SECONDS} s clip: {duration}"
    );
    let hash = blake3::hash(&std::fs::read(repo_root().join(CLIP)).expect("clip"));
    let mut r = agent()
        .get(format!("{reader}/v1/attachments/{}", hash.to_hex()))
        .call()
        .expect("GET the clip from the reader");
    assert_eq!(r.status(), 200);
    let bytes = r.body_mut().read_to_vec().expect("bytes");
    assert!(
        bytes == std::fs::read(repo_root().join(CLIP)).expect("clip"),
        "the reader holds the published bytes"
    );
}

/// Waits for the page's player to read the clip's metadata; its duration.
fn wait_duration(c: &Client) -> f64 {
    wait("the clip's metadata", || {
        js(
            c,
            "return document.querySelector('section.attachments video').readyState;",
        )
        .as_u64()
        .is_some_and(|s| s >= 1)
    });
    js(
        c,
        "return document.querySelector('section.attachments video').duration;",
    )
    .as_f64()
    .unwrap_or(0.0)
}

/// A port free on loopback now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// chromedriver on a free port, once it answers.
fn start_chromedriver() -> (Killed, String) {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(path).exists(),
            "the browser test needs {path}: install it with `apt-get install -y chromium chromium-driver` (Debian package {package})"
        );
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let child = Killed(child);
    let url = format!("http://127.0.0.1:{port}");
    wait("chromedriver to answer /status", || {
        agent()
            .get(format!("{url}/status"))
            .call()
            .is_ok_and(|r| r.status() == 200)
    });
    (child, url)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A headless Chromium session. Flags that keep Chromium from reaching
/// for the network (this machine is offline; without them it can hang),
/// and `--no-sandbox`, which it needs as root.
fn browser(driver: &str, profile: &Path) -> Client {
    let args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-extensions".into(),
        "--hide-scrollbars".into(),
        "--lang=en-US".into(),
        format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    Client::connect(driver, Value::Object(caps)).expect("a Chromium session through chromedriver")
}

/// Waits for an element.
fn find<'c>(c: &'c Client, css: &str) -> Element<'c> {
    let deadline = Instant::now() + WAIT;
    loop {
        match c.find(css) {
            Ok(e) => return e,
            Err(e) if Instant::now() >= deadline => panic!("no element {css}: {e}"),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// The text of an element.
fn text(c: &Client, css: &str) -> String {
    find(c, css).text().expect("text")
}

/// Runs a script and returns its value.
fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Waits until the browser's URL contains `part` and that page has loaded.
fn wait_url(c: &Client, part: &str) {
    wait(&format!("the URL to contain {part:?}"), || {
        c.current_url().is_ok_and(|u| u.as_str().contains(part)) && loaded(c)
    });
}

/// Whether the current document has finished loading.
fn loaded(c: &Client) -> bool {
    c.execute("return document.readyState;", vec![])
        .is_ok_and(|v| v == "complete")
}

/// Marks the current document, so that [`wait_new_page`] can tell it from the
/// next one even when both URLs match what is awaited.
fn mark_page(c: &Client) {
    js(c, "window.__setuOldPage = true; return true;");
}

/// Waits until the document marked by [`mark_page`] has been replaced by a
/// new one that has finished loading.
fn wait_new_page(c: &Client, what: &str) {
    wait(what, || {
        let fresh = c
            .execute("return window.__setuOldPage === undefined;", vec![])
            .is_ok_and(|v| v == true);
        fresh && loaded(c)
    });
}

/// The visible result titles.
fn result_links(c: &Client) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in c.find_all("li.result h3 a").expect("results") {
        let href = a.attr("href").expect("href").unwrap_or_default();
        out.push((a.text().expect("text"), href));
    }
    out
}

/// Types `words` into the search box and submits.
fn search(c: &Client, words: &str) {
    let q = find(c, "#q");
    q.clear().expect("clear");
    q.send_keys(words).expect("type");
    let typed = q.prop("value").expect("value").unwrap_or_default();
    assert_eq!(typed, words, "the search box holds what was typed");
    // A second search's URL matches "text=" before the new page loads: wait
    // for the page itself to be replaced.
    mark_page(c);
    find(c, "form.search button[type=submit]")
        .click()
        .expect("submit");
    wait_new_page(c, "the results page of a search");
    wait_url(c, "text=");
}

/// Runs axe-core on the current page; panics listing every violation of
/// impact serious or critical.
fn axe(c: &Client, source: &str, page: &str) {
    js(c, &format!("{source}\n;return typeof axe;"));
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
               .then(r => done(JSON.stringify(r.violations.map(v => ({
                   id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))))
               .catch(e => done('axe failed: ' + e));",
            vec![],
        )
        .expect("axe runs");
    let found = found.as_str().expect("axe's answer").to_string();
    let violations: Vec<Value> =
        serde_json::from_str(&found).unwrap_or_else(|_| panic!("{page}: {found}"));
    for v in &violations {
        eprintln!("axe on {page}: {v}");
    }
    let serious: Vec<&Value> = violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        serious.is_empty(),
        "axe finds serious violations on {page}: {serious:#?}"
    );
}

/// The page has no horizontal scroll at the current (phone) width.
fn fits(c: &Client, page: &str) {
    let w = js(
        c,
        "return [window.innerWidth, document.documentElement.scrollWidth, document.body.scrollWidth];",
    );
    let inner = w[0].as_u64().expect("innerWidth");
    let scroll = w[1]
        .as_u64()
        .expect("scrollWidth")
        .max(w[2].as_u64().unwrap_or(0));
    assert!(
        inner <= u64::from(PHONE_WIDTH),
        "{page}: the viewport is {inner} px wide, not a phone's"
    );
    assert!(
        scroll <= inner,
        "{page}: {scroll} px of content in a {inner} px viewport: it scrolls sideways"
    );
}

/// The practice page lists the attached clip; its player loads it from
/// the node (with the page's CSP), plays it and seeks in it.
fn video(c: &Client) {
    let listed = text(c, "section.attachments");
    assert!(listed.contains("Attachments (1)"), "{listed}");
    assert!(listed.contains(CLIP_TITLE), "{listed}");
    assert!(listed.contains("video/webm"), "{listed}");
    assert!(listed.contains("Video"), "the category is shown: {listed}");
    let size = std::fs::metadata(repo_root().join(CLIP))
        .expect("clip")
        .len();
    let href = find(c, "section.attachments a.download")
        .attr("href")
        .expect("href")
        .unwrap_or_default();
    let hash = blake3::hash(&std::fs::read(repo_root().join(CLIP)).expect("clip"));
    assert_eq!(href, format!("/v1/attachments/{}", hash.to_hex()));
    find(c, "section.attachments video");
    // Metadata: the duration comes from the file, read over HTTP.
    wait("the clip's metadata", || {
        js(
            c,
            "return document.querySelector('section.attachments video').readyState;",
        )
        .as_u64()
        .is_some_and(|s| s >= 1)
    });
    let state = js(
        c,
        "const v = document.querySelector('section.attachments video');
         return {duration: v.duration, error: v.error && v.error.code,
                 width: v.videoWidth, height: v.videoHeight};",
    );
    assert!(state["error"].is_null(), "the player failed: {state}");
    let duration = state["duration"].as_f64().unwrap_or(0.0);
    assert!(
        (duration - CLIP_SECONDS).abs() < 0.5,
        "the clip lasts {CLIP_SECONDS} s, the player says {duration} ({size} bytes): {state}"
    );
    assert_eq!(
        (state["width"].as_u64(), state["height"].as_u64()),
        (Some(320), Some(180))
    );
    // Play, muted (headless Chromium plays without a gesture then), until
    // time moves.
    let played = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const v = document.querySelector('section.attachments video');
             v.muted = true;
             v.play().then(() => done('playing'), e => done('play failed: ' + e));",
            vec![],
        )
        .expect("play");
    assert_eq!(played.as_str(), Some("playing"), "{played}");
    wait("the clip to play", || {
        js(
            c,
            "return document.querySelector('section.attachments video').currentTime;",
        )
        .as_f64()
        .is_some_and(|t| t > 0.2)
    });
    // Seek ahead: the browser asks the node for a later byte range, and the
    // frame there decodes.
    let seeked = c
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 const v = document.querySelector('section.attachments video');
                 v.pause();
                 const seekable = v.seekable.length ? v.seekable.end(0) : 0;
                 v.addEventListener('seeked', () => done({{t: v.currentTime, seekable, state: v.readyState}}), {{once: true}});
                 v.addEventListener('error', () => done({{error: v.error.code}}), {{once: true}});
                 v.currentTime = {SEEK_TO};"
            ),
            vec![],
        )
        .expect("seek");
    eprintln!("browser test: the clip {state}, after the seek {seeked}");
    assert!(seeked["error"].is_null(), "seeking failed: {seeked}");
    let t = seeked["t"].as_f64().unwrap_or(-1.0);
    assert!(
        (t - SEEK_TO).abs() < 0.5,
        "seeked to {t}, not {SEEK_TO}: {seeked}"
    );
    assert!(
        seeked["seekable"].as_f64().unwrap_or(0.0) >= CLIP_SECONDS - 0.5,
        "the whole clip is seekable (the node answers ranges): {seeked}"
    );
    assert!(
        seeked["state"].as_u64().is_some_and(|s| s >= 2),
        "the frame at {SEEK_TO} s is decoded: {seeked}"
    );
}

/// Status, content type and body of a GET, with the CSP checked.
fn get(url: &str) -> (u16, String, String) {
    let mut r = agent().get(url).call().expect("GET");
    let h = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(h("content-security-policy"), CSP, "{url}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{url}");
    assert!(!h("referrer-policy").is_empty(), "{url}");
    let ct = h("content-type");
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (r.status().as_u16(), ct, body)
}

#[test]
fn the_catalogue_in_a_real_browser() {
    let built = Instant::now();
    setu_bin();
    eprintln!(
        "browser test: the setu binary ready in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let tmp = TempDir::new().expect("tempdir");
    let (_daemon, base) = start_daemon(tmp.path());
    eprintln!(
        "browser test: daemon up with the sample catalogue after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (_driver, driver_url) = start_chromedriver();
    let axe_source =
        std::fs::read_to_string(repo_root().join("tests/assets/axe.min.js")).expect("axe.min.js");

    // Headers and bad parameters, over plain HTTP.
    let (code, ct, body) = get(&format!("{base}/"));
    assert_eq!((code, ct.as_str()), (200, "text/html; charset=utf-8"));
    assert!(
        !body.contains(" style="),
        "no inline style: the CSP forbids it"
    );
    for (query, names) in [
        ("page=0", "page"),
        ("colour=red", "colour"),
        ("lang=xx", "lang"),
        ("status=abc", "status"),
        ("country=XYZ", "country"),
        ("sdg=99", "sdg"),
    ] {
        let (code, ct, body) = get(&format!("{base}/?{query}"));
        assert_eq!(code, 400, "{query}: {body}");
        assert!(ct.starts_with("text/html"), "{query}: {ct}");
        assert!(
            body.contains(names),
            "{query}: the page names {names}: {body}"
        );
    }
    let (code, _, body) = get(&format!("{base}/practices/NO-SUCH-0001"));
    assert_eq!(code, 404, "{body}");
    let (code, _, _) = get(&format!("{base}/practices/BGD-A2I-0001?publisher=zz"));
    assert_eq!(code, 400);
    let (code, ct, _) = get(&format!("{base}/assets/setu.css"));
    assert_eq!((code, ct.as_str()), (200, "text/css; charset=utf-8"));

    let profile = TempDir::new().expect("profile dir");
    let c = browser(&driver_url, profile.path());
    eprintln!(
        "browser test: Chromium up after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 1. Search in English, then in Bangla.
    c.goto(&format!("{base}/")).expect("open /");
    let heading = text(&c, "#results-h");
    assert!(heading.contains("38 practices"), "{heading}");
    // The stylesheet and the script loaded under the CSP.
    let bg = find(&c, "header.site")
        .css_value("background-color")
        .expect("css");
    assert_ne!(bg, "rgba(0, 0, 0, 0)", "the stylesheet applies");
    search(&c, "digital centre");
    let results = result_links(&c);
    assert!(
        results
            .iter()
            .any(|(t, h)| t.contains("Union Digital Centres") && h.contains("BGD-A2I-0001")),
        "English search: {results:?}"
    );
    search(&c, "ডিজিটাল সেন্টার");
    let results = result_links(&c);
    assert!(
        results.iter().any(|(_, h)| h.contains("BGD-A2I-0001")),
        "Bangla search: {results:?}"
    );
    assert!(
        text(&c, "#results-h").contains("ডিজিটাল"),
        "the heading echoes the Bangla words"
    );

    // 2. Facets: Bangladesh, then only those with TCV figures.
    c.goto(&format!("{base}/")).expect("open /");
    find(&c, "#facet-country");
    let mut clicked = false;
    for a in c
        .find_all("section[aria-labelledby=facet-country] a.facet")
        .expect("country facets")
    {
        if a.text().expect("text").contains("Bangladesh") {
            a.click().expect("click Bangladesh");
            clicked = true;
            break;
        }
    }
    assert!(clicked, "a Bangladesh facet");
    wait_url(&c, "country=BGD");
    let heading = text(&c, "#results-h");
    assert!(heading.starts_with("4 practices"), "{heading}");
    for (_, href) in result_links(&c) {
        assert!(href.contains("/practices/BGD-"), "{href}");
    }
    assert!(text(&c, "ul.chips").contains("Country: Bangladesh"));
    // The chosen country offers its roles, with counts.
    let roles = text(&c, "ul.facets.sub");
    assert!(roles.contains("As originating"), "{roles}");
    find(&c, "section[aria-labelledby=facet-tcv] a.facet")
        .click()
        .expect("click the TCV facet");
    wait_url(&c, "has_tcv=true");
    assert!(text(&c, "#results-h").starts_with("1 practice"));
    axe(&c, &axe_source, "the search page");

    // 3. Open the practice.
    find(&c, "li.result h3 a")
        .click()
        .expect("open the practice");
    wait_url(&c, "/practices/BGD-A2I-0001");
    let h1 = find(&c, "h1");
    assert_eq!(h1.attr("lang").expect("lang").as_deref(), Some("en"));
    assert_eq!(h1.text().expect("h1"), "Union Digital Centres");
    // Every field: the texts, countries, SDG targets, sectors, period.
    let main = text(&c, "main");
    for field in [
        "Summary",
        "The challenge",
        "The solution",
        "Bangladesh",
        "Target 16.6",
        "Implementation",
        "2010-11",
        "Creative Commons Attribution 4.0",
        "ইউনিয়ন ডিজিটাল সেন্টার",
    ] {
        assert!(main.contains(field), "the practice page shows {field:?}");
    }

    // 4. The TCV chart and the citation.
    let bars = c.find_all("svg.tcv-chart rect").expect("bars");
    assert_eq!(bars.len(), 6, "two bars for each of time, cost, visits");
    let widths = js(
        &c,
        "return [...document.querySelectorAll('svg.tcv-chart g')].map(g => \
         [g.querySelector('.bar-before').getBBox().width, g.querySelector('.bar-after').getBBox().width]);",
    );
    for pair in widths.as_array().expect("widths") {
        let (before, after) = (
            pair[0].as_f64().unwrap_or(0.0),
            pair[1].as_f64().unwrap_or(0.0),
        );
        assert!(after < before && after > 0.0, "after is shorter: {pair}");
    }
    let svg_text = js(
        &c,
        "return document.querySelector('svg.tcv-chart').textContent;",
    );
    assert!(
        svg_text.as_str().unwrap_or("").contains("\u{2212}78.1"),
        "{svg_text}"
    );
    let citation = text(&c, "#citation");
    assert!(
        citation.starts_with(&format!("{AGENCY} (BGD), member {MEMBER} (")),
        "{citation}"
    );
    assert!(
        citation.contains("Union Digital Centres. Setu practice BGD-A2I-0001, revision 1, record "),
        "{citation}"
    );
    let copy = find(&c, "button.copy");
    assert!(
        copy.is_displayed().expect("displayed"),
        "the script shows the copy button"
    );
    copy.click().expect("copy");
    wait("the copy button to report", || {
        !text(&c, ".copy-status").is_empty()
    });
    let status = text(&c, ".copy-status");
    assert_eq!(status, "Citation copied.");
    let copied = copy.attr("data-copied").expect("attr");
    assert_eq!(copied.as_deref(), Some(citation.as_str()));
    // Provenance: the agency, the verified signature, the raw record.
    let side = text(&c, "section.provenance");
    assert!(side.contains("Signature verified"), "{side}");
    assert!(side.contains(AGENCY), "{side}");
    assert!(side.contains("Revision history"), "{side}");
    let raw = find(&c, "section.provenance a[href^='/v1/records/']")
        .attr("href")
        .expect("href")
        .unwrap_or_default();
    let mut r = agent()
        .get(format!("{base}{raw}"))
        .call()
        .expect("GET record");
    assert_eq!(r.status(), 200, "{raw}");
    let bytes = r.body_mut().read_to_vec().expect("bytes");
    setu_core::record::check(bytes).expect("the raw record verifies");

    // 4b. The attached clip: listed, and played from this node with seeking.
    video(&c);

    // The screenshot, at desktop width: written into the tracked tree only
    // when asked, so that a test run leaves the checkout as it found it.
    let png = c.screenshot().expect("screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is not a PNG"
    );
    if std::env::var_os(SCREENSHOTS_ENV).is_some() {
        let shots = repo_root().join("docs/screenshots");
        std::fs::create_dir_all(&shots).expect("docs/screenshots");
        std::fs::write(shots.join("practice.png"), &png).expect("practice.png");
    }

    axe(&c, &axe_source, "the practice page");

    // 5. Switch language: Bangla, with the form; Arabic, right to left.
    find(&c, "#lang")
        .select_by_value("bn")
        .expect("choose Bangla");
    find(&c, "form.lang-switch button").click().expect("show");
    wait_url(&c, "lang=bn");
    let h1 = find(&c, "h1");
    assert_eq!(h1.attr("lang").expect("lang").as_deref(), Some("bn"));
    assert_eq!(h1.text().expect("h1"), "ইউনিয়ন ডিজিটাল সেন্টার");
    let summary_lang = find(&c, "#summary-h + .prose, #summary-h ~ .prose")
        .attr("lang")
        .expect("lang");
    assert_eq!(summary_lang.as_deref(), Some("bn"));
    // Links keep the reader's language.
    let back = find(&c, "nav.crumbs a").attr("href").expect("href");
    assert_eq!(back.as_deref(), Some("/?lang=bn"));
    c.goto(&format!("{base}/practices/MAR-MRAFP-0001?lang=ar"))
        .expect("open an Arabic practice");
    let h1 = find(&c, "h1");
    assert_eq!(h1.attr("lang").expect("lang").as_deref(), Some("ar"));
    assert_eq!(h1.attr("dir").expect("dir").as_deref(), Some("rtl"));
    // A language the practice lacks falls back to the original, marked.
    c.goto(&format!("{base}/practices/MAR-MRAFP-0001?lang=sw"))
        .expect("open in Swahili");
    assert_eq!(
        find(&c, "h1").attr("lang").expect("lang").as_deref(),
        Some("ar")
    );
    assert!(text(&c, "main").contains("Not published in Swahili"));

    // 6. A phone-sized screen.
    c.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
        .expect("resize");
    c.goto(&format!("{base}/practices/BGD-A2I-0001"))
        .expect("open the practice");
    find(&c, "h1");
    fits(&c, "the practice page");
    c.goto(&format!("{base}/?country=BGD"))
        .expect("open search");
    find(&c, "#results-h");
    fits(&c, "the search page");
    // Keyboard: the skip link is the first stop and leads to the content.
    js(&c, "document.activeElement.blur(); window.scrollTo(0, 0);");
    c.active_element()
        .expect("active")
        .send_keys("\u{e004}")
        .expect("tab");
    let focused = js(&c, "return document.activeElement.className;");
    assert_eq!(
        focused.as_str(),
        Some("skip"),
        "Tab reaches the skip link first"
    );
    axe(&c, &axe_source, "the search page at 375 px");

    // 7. A second node: the clip fetched on a click in its catalogue.
    c.set_window_size(DESKTOP.0, DESKTOP.1).expect("resize");
    let (_reader, reader) = start_reader(tmp.path(), &base);
    fetch_on_click(&c, &reader);

    c.close().expect("close the browser");
    eprintln!("browser test: {:.1} s", started.elapsed().as_secs_f64());
}
