//! The HTML report (`--report-html`), rendered by a real browser: headless
//! Chromium (Debian's `chromium`; `.ci/run` installs it) loads the file, and
//! the test asserts on the DOM it built and takes a screenshot.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// The browser: `chromium` (Debian), `chromium-browser` or `google-chrome`.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let path = dir.join(name);
            if path.is_file() {
                return path;
            }
        }
    }
    panic!(
        "no Chromium to render the HTML report with: install it (Debian: `apt-get install chromium`; .ci/run does)"
    );
}

/// Chromium, headless, on `page` with `args`: its stdout.
fn render(page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            // Nothing may be fetched: any host fails to resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            &format!("--user-data-dir={}", profile.path().display()),
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_html_report_renders_in_a_browser_with_failures_first() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let run = run_plugin(
        "broken-read-schema-mismatch",
        &faker_config(),
        &["--report-html", page.to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no script, and nothing referenced to be fetched.
    for outside in ["<script", " src=\"", " href=\"", "<link", "@import", "url("] {
        assert!(!html.contains(outside), "{outside} in the report");
    }

    let dom = render(&page, &["--dump-dom"]);
    let report = run.report.as_ref().unwrap();
    let tests = report["tests"].as_array().unwrap();
    let failed: Vec<String> = run.with_status("FAIL");
    assert!(!failed.is_empty());
    // The summary says what the JSON report says.
    let summary = &report["summary"];
    assert!(
        dom.contains(&format!(
            "<li class=\"failed\"><b>{}</b> failed</li>",
            summary["failed"]
        )),
        "{dom}"
    );
    assert!(
        dom.contains("<span id=\"connector\">source-faker@0.1.0</span>"),
        "{dom}"
    );
    // Failures first, then the throughput chart, then the suites.
    let at = |needle: &str| {
        dom.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in the DOM"))
    };
    assert!(at("id=\"failures\"") < at("id=\"throughput\""));
    assert!(at("id=\"throughput\"") < at("id=\"suites\""));
    // Each failure in full: expected and what came, where, the fix.
    for id in &failed {
        let anchor: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let start = at(&format!(
            "<article class=\"failure\" id=\"failure-{anchor}\">"
        ));
        let article = &dom[start..start + dom[start..].find("</article>").unwrap()];
        assert!(
            article.contains("<dt>Expected, and what came</dt>"),
            "{article}"
        );
        assert!(article.contains("<dt>Fix</dt>"), "{article}");
    }
    // A collapsible suite per suite, open where a test failed; a row per test.
    let mut suites: Vec<&str> = tests.iter().map(|t| t["suite"].as_str().unwrap()).collect();
    suites.dedup();
    assert_eq!(
        dom.matches("<details class=\"suite\"").count(),
        suites.len()
    );
    for suite in &suites {
        let has_failure = failed.iter().any(|f| f.starts_with(&format!("{suite}/")));
        let open = dom.contains(&format!(
            "<details class=\"suite\" id=\"suite-{suite}\" open=\"\">"
        ));
        assert_eq!(open, has_failure, "{suite}");
    }
    assert_eq!(dom.matches("<tr class=\"test ").count(), tests.len());
    // The chart: a bar per stream of basic_read's read, with its rate.
    let read = &dom[at("records per second per stream of basic_read/read\"")..];
    let read = &read[..read.find("</svg>").unwrap()];
    for stream in ["users", "products", "purchases"] {
        let bar = regex::Regex::new(&format!(
            r#"<rect class="bar" [^>]*data-stream="{stream}" data-rate="[1-9]\d*""#
        ))
        .unwrap();
        assert!(bar.is_match(read), "{stream}: {read}");
    }

    // And it draws: a screenshot of the page.
    let shot = dir.path().join("report.png");
    render(
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
        ],
    );
    let png = std::fs::read(&shot).expect("the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "a {} byte screenshot", png.len());
}
