//! The batch's HTML page (`DIR/report.html`): per tenant, its jobs with
//! their verdicts, counts, times and resources, each linking to the job's
//! own HTML report (`TENANT/JOB/report.html`, beside it); a job that could
//! not run says why. Self-contained like the jobs' pages: no script, nothing
//! fetched, every text escaped.

use std::fmt::Write as _;

use super::{BatchSummary, JobStatus};
use crate::report::html::{STYLE, anchor, esc};

/// The page of `summary`, written in `report_dir` (a job is linked when its
/// page is there: the queue's results carry none).
pub fn page(summary: &BatchSummary, report_dir: &std::path::Path) -> String {
    let mut page = String::with_capacity(16 << 10);
    let (mut passed, mut failed, mut skipped, mut errors) = (0, 0, 0, 0);
    for t in summary.tenants.values() {
        passed += t.passed;
        failed += t.failed;
        skipped += t.skipped;
        errors += t.errors;
    }
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>ctest batch: {}</title><style>{STYLE}</style></head><body>\n\
         <header><h1>ctest batch report</h1><p class=\"meta\">job file <code>{}</code> · {} jobs · ctest {} · {:.1} s</p>\
         <ul id=\"summary\" class=\"{}\"><li class=\"passed\"><b>{passed}</b> passed</li>\
         <li class=\"failed\"><b>{failed}</b> failed</li><li class=\"skipped\"><b>{skipped}</b> skipped</li>\
         <li class=\"failed\"><b>{errors}</b> jobs could not run</li></ul></header>\n",
        esc(&summary.job_file.path),
        esc(&summary.job_file.path),
        summary.jobs.len(),
        esc(&summary.ctest_version),
        summary.wall_ms as f64 / 1000.0,
        if failed + errors > 0 {
            "failed"
        } else {
            "passed"
        },
    );
    page.push_str("<section id=\"tenants\">\n");
    for (tenant, totals) in &summary.tenants {
        let bad = totals.failed + totals.errors > 0;
        let _ = write!(
            page,
            "<details class=\"suite tenant\" id=\"tenant-{}\"{}><summary><b>{}</b> {} jobs · \
             <span class=\"passed\">{} passed</span> · <span class=\"failed\">{} failed</span> · \
             <span class=\"skipped\">{} skipped</span> · {} could not run · {} ms</summary>\n\
             <table><thead><tr><th>job</th><th>verdict</th><th>passed</th><th>failed</th><th>skipped</th>\
             <th>time</th><th>CPU</th><th>peak memory</th><th>HTTP</th><th>why</th></tr></thead><tbody>\n",
            anchor(tenant),
            if bad { " open" } else { "" },
            esc(tenant),
            totals.jobs,
            totals.passed,
            totals.failed,
            totals.skipped,
            totals.errors,
            totals.duration_ms
        );
        for job in summary.jobs.iter().filter(|j| &j.tenant == tenant) {
            let (word, class) = match job.status {
                JobStatus::Passed => ("PASS", "passed"),
                JobStatus::Failed => ("FAIL", "failed"),
                JobStatus::Error => ("ERROR", "failed"),
            };
            let has_page = report_dir
                .join(&job.tenant)
                .join(&job.id)
                .join("report.html")
                .is_file();
            let name = if has_page && job.status != JobStatus::Error {
                format!(
                    "<a href=\"{}/{}/report.html\">{}</a>",
                    path_part(&job.tenant),
                    path_part(&job.id),
                    esc(&job.id)
                )
            } else {
                esc(&job.id)
            };
            let u = &job.resources;
            let _ = writeln!(
                page,
                "<tr class=\"test {class}\" data-job=\"{}/{}\"><td>{name}</td><td class=\"verdict\">{word}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{} ms</td><td class=\"num\">{} ms</td><td class=\"num\">{:.1} MiB</td>\
                 <td class=\"num\">{}</td><td class=\"message\"><pre>{}</pre></td></tr>",
                esc(&job.tenant),
                esc(&job.id),
                job.passed,
                job.failed,
                job.skipped,
                job.duration_ms,
                u.cpu_ms,
                u.peak_memory_bytes as f64 / (1u64 << 20) as f64,
                u.http_requests,
                esc(job.error.as_deref().unwrap_or_default())
            );
        }
        page.push_str("</tbody></table></details>\n");
    }
    page.push_str("</section></body></html>\n");
    page
}

/// A path segment for an `href`: letters, digits and `-_.~` kept, every
/// other byte percent-encoded (`.` and `..` alone cannot come: job and
/// tenant names are checked when the job file is read).
fn path_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_beside_the_page_and_names_are_escaped() {
        assert_eq!(path_part("acme"), "acme");
        assert_eq!(path_part("a b/../x\"<"), "a%20b%2F..%2Fx%22%3C");
    }
}
