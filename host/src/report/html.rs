//! The HTML report (`--report-html FILE`): one self-contained file (no
//! script, no style sheet or image from anywhere, nothing fetched) a person
//! opens after a run: the summary, the failures first (what was expected and
//! what came, the problems at their places, the fix, the plugin's log), read
//! throughput per stream as a small chart, and every suite as a collapsible
//! table of its tests with their times and the resources they used. Every
//! text is HTML-escaped and, like the console's, has control characters made
//! visible; messages and logs come redacted and clipped.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use super::progress::{Progress, ReadDone, thousands};
use super::{Event, Reporter, Status, Summary, TestResult};

/// Collects a run's results, and writes the page when the run finishes.
pub struct HtmlReport {
    path: std::path::PathBuf,
    plugin: String,
    connector: Option<(String, String)>,
    started_at: SystemTime,
    results: Vec<TestResult>,
    /// Where the run's reads are counted (`None`: no chart).
    progress: Option<Arc<Progress>>,
}

impl HtmlReport {
    /// A report of `plugin`'s run, written to `path`; `progress` gives the
    /// reads' throughput.
    pub fn new(
        path: impl Into<std::path::PathBuf>,
        plugin: impl Into<String>,
        progress: Option<Arc<Progress>>,
    ) -> Self {
        HtmlReport {
            path: path.into(),
            plugin: plugin.into(),
            connector: None,
            started_at: SystemTime::now(),
            results: Vec::new(),
            progress,
        }
    }

    /// The page.
    pub fn to_html(&self, summary: &Summary) -> String {
        let mut page = String::with_capacity(64 << 10);
        let who = match &self.connector {
            Some((name, version)) => format!("{name}@{version}"),
            None => self.plugin.clone(),
        };
        let started = chrono::DateTime::<chrono::Utc>::from(self.started_at)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        let took: std::time::Duration = self.results.iter().map(|r| r.duration).sum();
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>ctest: {}</title><style>{STYLE}</style></head><body>\n\
             <header><h1>ctest report: <span id=\"connector\">{}</span></h1>\
             <p class=\"meta\">plugin <code>{}</code> · ctest {} · started {started} · tests took {:.1} s</p>\n",
            esc(&who),
            esc(&who),
            esc(&self.plugin),
            env!("CARGO_PKG_VERSION"),
            took.as_secs_f64()
        );
        let verdict = if summary.failed > 0 {
            "failed"
        } else {
            "passed"
        };
        let _ = write!(
            page,
            "<ul id=\"summary\" class=\"{verdict}\"><li class=\"passed\"><b>{}</b> passed</li>\
             <li class=\"failed\"><b>{}</b> failed</li><li class=\"skipped\"><b>{}</b> skipped</li>",
            summary.passed, summary.failed, summary.skipped
        );
        if summary.not_run > 0 {
            let _ = write!(
                page,
                "<li class=\"not-run\"><b>{}</b> not run (--fail-fast)</li>",
                summary.not_run
            );
        }
        page.push_str("</ul></header>\n");
        self.failures(&mut page);
        self.throughput(&mut page);
        self.suites(&mut page);
        page.push_str("</body></html>\n");
        page
    }

    /// The failed tests, each in full, before anything else.
    fn failures(&self, page: &mut String) {
        let failed: Vec<&TestResult> = self
            .results
            .iter()
            .filter(|r| r.status == Status::Failed)
            .collect();
        if failed.is_empty() {
            return;
        }
        let _ = writeln!(
            page,
            "<section id=\"failures\"><h2>Failures ({})</h2>",
            failed.len()
        );
        for r in failed {
            let _ = write!(
                page,
                "<article class=\"failure\" id=\"failure-{}\"><h3>{}</h3><dl>",
                anchor(&r.id()),
                esc(&r.id())
            );
            match &r.failure {
                Some(f) => {
                    let _ = write!(
                        page,
                        "<dt>Expected, and what came</dt><dd class=\"expected\">{}</dd>",
                        esc(&f.expected)
                    );
                    if !f.problems.is_empty() {
                        page.push_str("<dt>Where</dt><dd class=\"problems\"><ul>");
                        for p in &f.problems {
                            let _ = write!(page, "<li>{}</li>", esc(p));
                        }
                        if f.more > 0 {
                            let _ = write!(page, "<li class=\"more\">and {} more</li>", f.more);
                        }
                        page.push_str("</ul></dd>");
                    }
                    if let Some(fix) = &f.fix {
                        let _ = write!(page, "<dt>Fix</dt><dd class=\"fix\">{}</dd>", esc(fix));
                    }
                }
                None => {
                    let _ = write!(
                        page,
                        "<dt>Message</dt><dd class=\"expected\">{}</dd>",
                        esc(r.message.as_deref().unwrap_or_default())
                    );
                }
            }
            page.push_str("</dl>");
            log(page, r, true);
            page.push_str("</article>\n");
        }
        page.push_str("</section>\n");
    }

    /// Records per second per stream of each read, as bars.
    fn throughput(&self, page: &mut String) {
        let reads: Vec<ReadDone> = self
            .progress
            .as_ref()
            .map(|p| p.reads())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| !r.streams.is_empty())
            .collect();
        if reads.is_empty() {
            return;
        }
        page.push_str("<section id=\"throughput\"><h2>Read throughput</h2>\n");
        for read in reads.iter().take(12) {
            let title = if read.nth > 1 {
                format!("{}, read {}", read.test, read.nth)
            } else {
                read.test.clone()
            };
            let max = read.streams.iter().map(|s| s.2).max().unwrap_or(1).max(1);
            let (bar_width, row) = (360.0, 22);
            let height = row * read.streams.len() + 4;
            let _ = write!(
                page,
                "<figure class=\"read\"><figcaption>{} <span class=\"meta\">({:.2} s)</span></figcaption>\
                 <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"{height}\" role=\"img\" aria-label=\"records per second per stream of {}\">",
                esc(&title),
                read.seconds,
                esc(&title)
            );
            for (i, (stream, records, rate)) in read.streams.iter().enumerate() {
                let y = i * row + 2;
                let w = (*rate as f64 / max as f64 * bar_width).max(1.0);
                let _ = write!(
                    page,
                    "<text x=\"150\" y=\"{}\" text-anchor=\"end\">{}</text>\
                     <rect class=\"bar\" x=\"158\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" data-stream=\"{}\" data-rate=\"{rate}\"></rect>\
                     <text x=\"{:.1}\" y=\"{}\">{}/s · {} records</text>",
                    y + 13,
                    esc(&clip(stream, 22)),
                    esc(stream),
                    158.0 + w + 6.0,
                    y + 13,
                    thousands(*rate),
                    thousands(*records)
                );
            }
            page.push_str("</svg></figure>\n");
        }
        page.push_str("</section>\n");
    }

    /// Every suite, collapsible (open when it has a failure), a row per test.
    fn suites(&self, page: &mut String) {
        page.push_str("<section id=\"suites\"><h2>Suites</h2>\n");
        for (name, results) in super::by_suite(&self.results) {
            let count = |s: Status| results.iter().filter(|r| r.status == s).count();
            let (passed, failed, skipped) = (
                count(Status::Passed),
                count(Status::Failed),
                count(Status::Skipped),
            );
            let took: std::time::Duration = results.iter().map(|r| r.duration).sum();
            let _ = write!(
                page,
                "<details class=\"suite\" id=\"suite-{}\"{}><summary><b>{}</b> \
                 <span class=\"passed\">{passed} passed</span> · <span class=\"failed\">{failed} failed</span> · \
                 <span class=\"skipped\">{skipped} skipped</span> · {} ms</summary>\n\
                 <table><thead><tr><th>verdict</th><th>test</th><th>time</th><th>CPU</th><th>peak memory</th>\
                 <th>HTTP</th><th>output</th><th>message</th></tr></thead><tbody>\n",
                anchor(name),
                if failed > 0 { " open" } else { "" },
                esc(name),
                took.as_millis()
            );
            for r in results {
                let u = &r.resources;
                let (word, class) = match r.status {
                    Status::Passed => ("PASS", "passed"),
                    Status::Failed => ("FAIL", "failed"),
                    Status::Skipped => ("SKIP", "skipped"),
                };
                let _ = write!(
                    page,
                    "<tr class=\"test {class}\" data-id=\"{}\"><td class=\"verdict\">{word}</td><td>{}</td>\
                     <td class=\"num\">{} ms</td>",
                    esc(&r.id()),
                    esc(&r.name),
                    r.duration.as_millis()
                );
                if u.is_zero() {
                    page.push_str("<td></td><td></td><td></td><td></td>");
                } else {
                    let _ = write!(
                        page,
                        "<td class=\"num\">{} ms</td><td class=\"num\">{:.1} MiB</td>\
                         <td class=\"num\">{} ({} replayed)</td><td class=\"num\">{} B</td>",
                        u.cpu_ms,
                        u.peak_memory_bytes as f64 / (1u64 << 20) as f64,
                        u.http_requests,
                        u.cassette_hits,
                        thousands(u.output_bytes)
                    );
                }
                page.push_str("<td class=\"message\">");
                if let Some(m) = &r.message {
                    let _ = write!(page, "<pre>{}</pre>", esc(m));
                }
                log(page, r, false);
                page.push_str("</td></tr>\n");
            }
            page.push_str("</tbody></table></details>\n");
        }
        page.push_str("</section>\n");
    }
}

/// The plugin's log of a test, collapsible.
fn log(page: &mut String, r: &TestResult, open: bool) {
    if r.logs.is_empty() {
        return;
    }
    let _ = write!(
        page,
        "<details class=\"log\"{}><summary>plugin log ({} lines)</summary><pre>",
        if open { " open" } else { "" },
        r.logs.len()
    );
    for l in &r.logs {
        let _ = writeln!(page, "[{}] {}", esc(&l.level), esc(&l.message));
    }
    page.push_str("</pre></details>");
}

/// `text` safe inside HTML text and attributes, control characters made
/// visible as on the console.
pub(crate) fn esc(text: &str) -> String {
    let text = super::escape(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id fragment: letters, digits, `-` and `_` kept, the rest `-`.
pub(crate) fn anchor(text: &str) -> String {
    text.chars()
        .take(120)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_string();
    }
    let mut out: String = text.chars().take(chars - 1).collect();
    out.push('…');
    out
}

pub(crate) const STYLE: &str = "\
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 40px;color:#1b1f24}\
h1{font-size:20px;margin:20px 0 4px}h2{font-size:16px;margin:28px 0 8px}h3{font-size:14px;margin:0 0 6px;font-family:monospace}\
.meta{color:#57606a}code,pre{font-family:ui-monospace,monospace;font-size:12px}pre{white-space:pre-wrap;margin:0}\
#summary{display:flex;gap:16px;list-style:none;padding:10px 14px;border-radius:6px;background:#f6f8fa}\
#summary.failed{border-left:6px solid #cf222e}#summary.passed{border-left:6px solid #1a7f37}\
li.passed,span.passed{color:#1a7f37}li.failed,span.failed{color:#cf222e}li.skipped,span.skipped{color:#9a6700}li.not-run{color:#57606a}\
.failure{border:1px solid #ffcecb;background:#fff8f8;border-radius:6px;padding:10px 14px;margin:10px 0}\
dl{margin:0}dt{font-weight:600;margin-top:6px}dd{margin:2px 0 0 14px;white-space:pre-wrap}.fix{color:#0550ae}\
details.suite{border:1px solid #d0d7de;border-radius:6px;margin:8px 0}details.suite>summary{padding:8px 12px;cursor:pointer}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-top:1px solid #eaeef2;vertical-align:top}\
th{font-weight:600;background:#f6f8fa}.num{text-align:right;white-space:nowrap}.verdict{font-weight:600}\
tr.failed .verdict{color:#cf222e}tr.passed .verdict{color:#1a7f37}tr.skipped .verdict{color:#9a6700}\
.message{max-width:480px}details.log summary{cursor:pointer;color:#57606a}\
figure.read{margin:8px 0}figcaption{font-family:monospace}svg text{font:12px system-ui,sans-serif;fill:#1b1f24}\
rect.bar{fill:#0969da}";

impl Reporter for HtmlReport {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        match event {
            Event::RunStarted { .. } => self.started_at = SystemTime::now(),
            Event::Connector { name, version, .. } => {
                self.connector = Some((name.clone(), version.clone()))
            }
            Event::TestFinished { result, .. } => self.results.push(result.as_ref().clone()),
            Event::RunFinished { summary, .. } => {
                std::fs::write(&self.path, self.to_html(summary)).map_err(|e| {
                    format!(
                        "{}: cannot write the HTML report: {e}\n  fix: choose a writable path for --report-html",
                        self.path.display()
                    )
                })?;
            }
            Event::TestStarted { .. } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_and_nothing_is_fetched() {
        let mut report = HtmlReport::new("unused.html", "p.wasm", None);
        let _ = report.event(&Event::Connector {
            run: "r".into(),
            name: "<script>alert(1)</script>".into(),
            version: "1.0.0\"><img src=x onerror=alert(1)>".into(),
        });
        let _ = report.event(&Event::TestFinished {
            run: "r".into(),
            result: Box::new(TestResult {
                suite: "basic_read",
                name: "read".into(),
                status: Status::Failed,
                message: Some("<b>bold</b>\x1b[2J".into()),
                failure: Some(crate::checks::Failure {
                    expected: "x < y & \"z\"".into(),
                    problems: vec!["<iframe src=http://evil>".into()],
                    more: 2,
                    fix: Some("</dd><script>".into()),
                }),
                duration: std::time::Duration::from_millis(3),
                started_at: SystemTime::now(),
                logs: vec![crate::sandbox::LogLine {
                    level: "info".into(),
                    message: "<link rel=stylesheet href=http://evil/x.css>".into(),
                }],
                resources: Default::default(),
            }),
        });
        let page = report.to_html(&Summary {
            failed: 1,
            ..Summary::default()
        });
        for raw in ["<script", "<img", "<iframe", "<link", "<b>bold", "\x1b"] {
            assert!(!page.contains(raw), "{raw} is in the page");
        }
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("x &lt; y &amp; &quot;z&quot;"));
        assert!(page.contains("\\u{1b}[2J"));
        assert!(page.contains("<li class=\"more\">and 2 more</li>"));
        // Nothing is fetched: the only URL is the SVG namespace, and there
        // is no `src` or `href` attribute.
        assert!(!page.contains(" src=\"") && !page.contains(" href=\""));
    }
}
