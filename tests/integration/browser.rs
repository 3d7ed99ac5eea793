//! Real headless Chromium, driven through ChromeDriver: sign in, create a space through the
//! form, open its grid, fix an invalid cell and watch the Error count drop, sort, filter,
//! search and download.

use crate::browser_grid::edit_cell;
use crate::helpers::*;
use crate::on_both;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Driver {
    process: Child,
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    /// Ends ChromeDriver and the Chromium it started (its process group): killing
    /// ChromeDriver alone left every test's Chromium running.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.process.id())])
            .status();
        let _ = self.process.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start_browser() -> Driver {
    let port = free_port();
    let process = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        // A group of its own, which Drop ends whole.
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (scripts/test.sh installs chromium-driver)");
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.path().display())],
        }),
    );
    let mut last_err = None;
    for _ in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => {
                return Driver {
                    process,
                    client,
                    _profile: profile,
                }
            }
            Err(e) => {
                last_err = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    panic!("could not reach chromedriver: {last_err:?}");
}

/// Waits until `script` (a JS expression) is truthy (up to 20 s: CI machines are busy).
/// Fills in the sign-in form the browser shows and waits for the Spaces tab.
pub async fn sign_in_form(c: &Client, email: &str) {
    wait_for(c, "document.querySelector('#email')", "the sign-in form").await;
    let field = |css: &'static str| c.find(Locator::Css(css));
    field("#email").await.unwrap().send_keys(email).await.unwrap();
    field("#password")
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::XPath("//button[text()='Sign in']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "location.pathname === '/spaces'", "the Spaces tab").await;
}

pub async fn wait_for(c: &Client, script: &str, what: &str) {
    wait_for_within(c, script, what, 20).await
}

/// `wait_for` with its own limit: for what waits on a listener process, whose round
/// trip on a loaded machine can take longer than a page's own work.
pub async fn wait_for_within(c: &Client, script: &str, what: &str, seconds: u64) {
    for _ in 0..seconds * 10 {
        let v = c.execute(&format!("return !!({script});"), vec![]).await.unwrap();
        if v == json!(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shot = c.screenshot().await.unwrap_or_default();
    let path = std::env::temp_dir().join("wharf-browser-failure.png");
    let _ = std::fs::write(&path, shot);
    // For machines whose screenshots are out of reach: what the page held.
    let html = c
        .execute("return document.body ? document.body.outerHTML : '';", vec![])
        .await
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    let cut = html.char_indices().nth(6000).map_or(html.len(), |(i, _)| i);
    panic!(
        "timed out waiting for {what} (screenshot: {}); the page held:\n{}",
        path.display(),
        &html[..cut]
    );
}

/// A Chrome DevTools command through ChromeDriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(&'static str, serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.0, "params": self.1});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// From now on every page this window opens records its Content-Security-Policy violations
/// (in localStorage, so they outlive navigation); [`csp_violations`] reads them.
pub(crate) async fn record_csp_violations(c: &Client) {
    let source = "document.addEventListener('securitypolicyviolation', function (e) { \
        var seen = JSON.parse(localStorage.getItem('wharf-test-csp') || '[]'); \
        seen.push(location.pathname + ': ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')); \
        localStorage.setItem('wharf-test-csp', JSON.stringify(seen)); });";
    c.issue_cmd(Cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": source}),
    ))
    .await
    .expect("Chrome DevTools through ChromeDriver");
}

pub(crate) async fn csp_violations(c: &Client) -> serde_json::Value {
    c.execute(
        "return JSON.parse(localStorage.getItem('wharf-test-csp') || '[]');",
        vec![],
    )
    .await
    .unwrap()
}

/// Clicks the element `css` finds.
pub(crate) async fn click_css(c: &Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

/// The text of the element `css` finds. A live update may swap the element between finding
/// it and reading it (WebDriver's "stale element"): it is then found again.
pub(crate) async fn text(c: &Client, css: &str) -> String {
    use fantoccini::error::{CmdError, ErrorStatus};
    for _ in 0..5 {
        match c.find(Locator::Css(css)).await.unwrap().text().await {
            Err(CmdError::Standard(e)) if e.error == ErrorStatus::StaleElementReference => continue,
            read => return read.unwrap(),
        }
    }
    panic!("{css} kept being replaced while its text was read");
}

async fn a_person_fixes_data_in_the_grid(db: Db) {
    let app = spawn_app(db).await;
    app.make_user("ada@example.com", true);
    let (status, _) = app.post_json("/space-configs", &contacts_blueprint()).await;
    assert_eq!(status, 200);
    let driver = start_browser().await;
    let c = &driver.client;

    // The pages satisfy their Content-Security-Policy: watch for violations throughout.
    record_csp_violations(c).await;

    // Sign in.
    c.goto(&app.url("/spaces")).await.unwrap();
    sign_in_form(c, "ada@example.com").await;

    // Create a space through the form.
    c.find(Locator::LinkText("Create New Space"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "document.querySelector('#name')", "the new space form").await;
    c.find(Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys("Acme onboarding")
        .await
        .unwrap();
    c.execute(
        "const s = document.querySelector('#space_config_id'); s.selectedIndex = 1;",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::XPath("//button[text()='Create space']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        c,
        "location.pathname.startsWith('/spaces/us_sp_')",
        "the space page",
    )
    .await;
    assert!(text(c, "h1").await.contains("Acme onboarding"));

    // Data arrives through the API; the grid shows it.
    let space_id = c
        .current_url()
        .await
        .unwrap()
        .path()
        .trim_start_matches("/spaces/")
        .to_string();
    let space = json!({"id": space_id});
    let contacts = app.sheet_id(&space, "contacts").await;
    let companies = app.sheet_id(&space, "companies").await;
    app.post_json(
        &format!("/sheets/{companies}/records"),
        &json!([{"code": "ACME"}]),
    )
    .await;
    let (status, _) = app
        .post_json(
            &format!("/sheets/{contacts}/records"),
            &json!([
                {"email": "zed@example.com", "name": "Zed", "age": "31", "company": "ACME"},
                {"email": "amy@example.com", "name": "Amy", "age": "n/a", "company": "ACME"},
                {"email": "bob@example.com", "name": "Bob", "age": "45", "company": "ACME"}
            ]),
        )
        .await;
    assert_eq!(status, 200);
    c.find(Locator::LinkText("Customers"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(c, "document.querySelector('table.grid')", "the grid").await;
    c.find(Locator::LinkText("Contacts"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        c,
        "document.querySelectorAll('table.grid tbody tr[data-record]').length === 3",
        "three records",
    )
    .await;
    assert_eq!(text(c, "#count-error").await, "1");
    if let Ok(path) = std::env::var("WHARF_SCREENSHOT") {
        // For the README: the invalid cell focused, its message showing.
        c.find(Locator::Css("tr.invalid td.cell[data-field='age']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        std::fs::write(path, c.screenshot().await.unwrap()).unwrap();
    }

    // Fix the invalid age: double click, type, Enter; the Error count drops without a reload.
    c.execute("window.__marker = 'same page';", vec![]).await.unwrap();
    let bad = c
        .find(Locator::Css("tr.invalid td.cell[data-field='age']"))
        .await
        .unwrap();
    assert!(bad
        .attr("aria-description")
        .await
        .unwrap()
        .unwrap_or_default()
        .contains("is not a number"));
    edit_cell(c, &bad, "29").await;
    wait_for(
        c,
        "document.querySelector('#count-error').textContent.trim() === '0'",
        "the Error count to drop",
    )
    .await;
    assert_eq!(
        c.execute("return window.__marker;", vec![]).await.unwrap(),
        json!("same page")
    );
    assert_eq!(text(c, "#count-valid").await, "3");

    // Spreadsheet keys: arrows move between cells, Enter opens the editor, Escape leaves it
    // without saving.
    c.find(Locator::Css("tbody tr[data-record] td.cell[data-field='email']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E014}")
        .await
        .unwrap(); // ArrowRight
    wait_for(
        c,
        "document.activeElement.dataset.field === 'name'",
        "focus on the Name cell",
    )
    .await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E015}")
        .await
        .unwrap(); // ArrowDown
    wait_for(c, "document.activeElement.dataset.field === 'name' && document.activeElement.closest('tr').previousElementSibling", "focus one row down").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap(); // Enter
    wait_for(
        c,
        "document.querySelector('.cell-editor input[name=value]') === document.activeElement",
        "the editor from Enter",
    )
    .await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("changed?\u{E00C}")
        .await
        .unwrap(); // Escape
    wait_for(
        c,
        "!document.querySelector('.cell-editor') && document.activeElement.dataset.field === 'name'",
        "the editor to close",
    )
    .await;
    let (_, still) = app
        .get_json(&format!("/sheets/{contacts}/records?searchValue=changed"))
        .await;
    assert_eq!(
        still["data"]["records"].as_array().unwrap().len(),
        0,
        "Escape saved nothing"
    );

    // Working together: a second window on the same grid sees a save from the first at once;
    // the first window is not reloaded by its own save.
    let grid_url = c.current_url().await.unwrap();
    let first_window = c.window().await.unwrap();
    let second = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(second.clone()).await.unwrap();
    c.goto(grid_url.as_str()).await.unwrap();
    wait_for(
        c,
        "document.querySelectorAll('table.grid tbody tr[data-record]').length === 3",
        "the grid in a second window",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await; // let its live connection open
    c.switch_to_window(first_window.clone()).await.unwrap();
    c.execute("document.querySelector('#grid').dataset.mark = 'kept';", vec![])
        .await
        .unwrap();
    let zed = c
        .find(Locator::XPath(
            "//td[@data-field='name'][.//span[@class='value' and text()='Zed']]",
        ))
        .await
        .unwrap();
    edit_cell(c, &zed, "Zed Zephyr").await;
    wait_for(c, "[...document.querySelectorAll('td[data-field=name] .value')].some(v => v.textContent === 'Zed Zephyr')", "the save").await;
    c.switch_to_window(second).await.unwrap();
    wait_for(c, "[...document.querySelectorAll('td[data-field=name] .value')].some(v => v.textContent === 'Zed Zephyr')", "the second window to update").await;
    c.close_window().await.unwrap();
    c.switch_to_window(first_window).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        c.execute("return document.querySelector('#grid').dataset.mark;", vec![])
            .await
            .unwrap(),
        json!("kept"),
        "the saving window was not reloaded by its own change"
    );

    // Sort by Name.
    c.find(Locator::XPath(
        "//th//span[@class='label'][starts-with(normalize-space(.), 'Name')]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_for(
        c,
        "document.querySelector('th[aria-sort=ascending]')",
        "the sorted header",
    )
    .await;
    let first = c
        .execute(
            "return document.querySelector('tbody tr[data-record] td[data-field=name] .value').textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(first, json!("Amy"));

    // Filter to errors (none left), then back to all, then search.
    c.find(Locator::Css("nav.filters a:nth-child(3)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        c,
        "document.querySelectorAll('tbody tr[data-record]').length === 0",
        "the empty Error view",
    )
    .await;
    c.find(Locator::Css("nav.filters a:nth-child(1)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        c,
        "document.querySelectorAll('tbody tr[data-record]').length === 3",
        "all records again",
    )
    .await;
    c.find(Locator::Css("#grid-q"))
        .await
        .unwrap()
        .send_keys("bob\u{E007}")
        .await
        .unwrap();
    wait_for(
        c,
        "document.querySelectorAll('tbody tr[data-record]').length === 1",
        "the search result",
    )
    .await;

    // Download: the link serves the view as CSV to the signed-in person.
    let href = c
        .find(Locator::LinkText("Download CSV"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv = c
        .execute(
            "return fetch(arguments[0]).then(r => r.text());",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap();
    // What the grid shows: the search for bob.
    assert!(csv.starts_with("Email,Name,Age"), "{csv}");
    assert!(csv.contains("bob@example.com,Bob,45"), "{csv}");
    assert!(!csv.contains("amy@example.com"), "{csv}");

    // The environment switcher (a select that submits itself) works without inline code.
    c.execute(
        "const s = document.querySelector('#env-switch'); s.selectedIndex = 1; \
         s.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![],
    )
    .await
    .unwrap();
    wait_for(
        c,
        "location.pathname === '/spaces' && document.querySelector('#env-switch').selectedIndex === 1",
        "the other environment's spaces",
    )
    .await;
    crate::browser_keyboard::a_stepped_environment_waits_for_enter(c).await;
    // Deleting an environment asks first; dismissed, nothing happens.
    c.goto(&app.url("/environments")).await.unwrap();
    let delete_production = "//section[.//input[@value='production']]//button[text()='Delete environment']";
    c.find(Locator::XPath(delete_production))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(c
        .get_alert_text()
        .await
        .unwrap()
        .contains("Delete the environment “production”"));
    c.dismiss_alert().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        c.find(Locator::XPath(delete_production)).await.is_ok(),
        "still there"
    );
    c.find(Locator::XPath(delete_production))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.accept_alert().await.unwrap();
    wait_for(
        c,
        "!document.querySelector('input[value=production]')",
        "the environment to go",
    )
    .await;

    assert_eq!(
        csp_violations(c).await,
        json!([]),
        "no page broke its Content-Security-Policy"
    );

    driver.client.clone().close().await.unwrap();
}

on_both!(a_person_fixes_data_in_the_grid);

/// A real double click at (`x`, `y`): a press held `press_ms`, released, `gap_ms` later
/// another press held as long (Chromium counts it as the click's second: `detail` 2).
pub async fn double_click_at(c: &Client, (x, y): (f64, f64), press_ms: u64, gap_ms: u64) {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    let pause = |ms| PointerAction::Pause {
        duration: Duration::from_millis(ms),
    };
    let press = || PointerAction::Down {
        button: MOUSE_BUTTON_LEFT,
    };
    let release = || PointerAction::Up {
        button: MOUSE_BUTTON_LEFT,
    };
    let clicks = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo { duration: None, x, y })
        .then(press())
        .then(pause(press_ms))
        .then(release())
        .then(pause(gap_ms))
        .then(press())
        .then(pause(press_ms))
        .then(release());
    c.perform_actions(clicks).await.unwrap();
}
