//! Putting reports together: the batch's one JUnit file (every job's
//! report, each test suite named `tenant/job/suite`), and `ctest
//! merge-reports DIR... --report-dir OUT`, which merges the report
//! directories of a job file's shards (`ctest batch --partition`) into the
//! directory one batch of the whole file would have written, after checking
//! that they are shards of one file and that every job is there exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{BatchSummary, JobOutcome, JobStatus};

/// The JUnit XML of the jobs whose reports are under `report_dir`: each
/// job's test suites, renamed `tenant/job/suite`, and for a job that could
/// not run a suite `tenant/job` with one errored test case saying why.
pub fn junit(report_dir: &Path, jobs: &[JobOutcome]) -> Result<String, String> {
    let mut report = Report::new("ctest batch");
    let mut time = Duration::ZERO;
    for job in jobs {
        let name = format!("{}/{}", job.tenant, job.id);
        time += Duration::from_millis(job.duration_ms);
        if job.status == JobStatus::Error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            let why = job.error.clone().unwrap_or_default();
            status
                .set_message(crate::report::one_line(&why))
                .set_description(why.as_str());
            let mut case = TestCase::new("job", status);
            case.set_classname(name.as_str());
            let mut suite = TestSuite::new(name.as_str());
            suite.add_test_case(case);
            report.add_test_suite(suite);
            continue;
        }
        let path = report_dir.join(&job.tenant).join(&job.id).join("junit.xml");
        let xml = match std::fs::read_to_string(&path) {
            Ok(xml) => xml,
            // A job whose filters all selected nothing (`--no-tests warn`)
            // ran no test and wrote no report.
            Err(_) if job.passed + job.failed + job.skipped == 0 => continue,
            Err(e) => {
                return Err(format!(
                    "{}: cannot read the job's JUnit report: {e}\n  fix: keep each job's directory as the batch wrote it",
                    path.display()
                ));
            }
        };
        let one = Report::deserialize_from_str(&xml).map_err(|e| {
            format!(
                "{}: not a JUnit report ctest wrote: {e}\n  fix: keep each job's directory as the batch wrote it",
                path.display()
            )
        })?;
        for mut suite in one.test_suites {
            let renamed = format!("{name}/{}", suite.name.as_str());
            // Two tenants may run the same connector: the classname names
            // the job too.
            for case in &mut suite.test_cases {
                case.set_classname(renamed.as_str());
            }
            suite.name = renamed.into();
            report.add_test_suite(suite);
        }
    }
    report.set_time(time);
    report
        .to_string()
        .map_err(|e| format!("cannot render the JUnit report: {e}"))
}

/// Merges the report directories `dirs` (shards of one job file) into
/// `out`: each job's directory copied, the summary recomputed, the JUnit file
/// made anew. Every problem (a directory that is not a batch's, shards of
/// different job files, a job missing or present twice) is reported at once.
pub fn merge_reports(dirs: &[PathBuf], out: &Path) -> Result<BatchSummary, String> {
    let mut problems = Vec::new();
    let mut shards: Vec<(&PathBuf, BatchSummary)> = Vec::new();
    for dir in dirs {
        let path = dir.join("summary.json");
        let summary = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                serde_json::from_str::<BatchSummary>(&text).map_err(|e| e.to_string())
            });
        match summary {
            Ok(s) => shards.push((dir, s)),
            Err(e) => problems.push(format!(
                "{}: not a `ctest batch` summary: {e}\n  fix: pass the --report-dir of each `ctest batch` shard",
                path.display()
            )),
        }
        if same_dir(dir, out) {
            problems.push(format!(
                "{}: is also the --report-dir to merge into\n  fix: merge into a new directory",
                dir.display()
            ));
        }
    }
    let Some((first_dir, first)) = shards.first() else {
        return Err(problems.join("\n"));
    };
    let file = first.job_file.clone();
    for (dir, s) in &shards[1..] {
        if s.job_file.digest != file.digest {
            problems.push(format!(
                "{}: a shard of {} ({}), but {} is a shard of {} ({})\n  fix: merge the shards of one job file, run with the same file on every shard",
                dir.display(),
                s.job_file.path,
                s.job_file.digest,
                first_dir.display(),
                file.path,
                file.digest
            ));
        }
    }
    // Names that become directories must be names a job file allows: a
    // summary is a file like any other, and may have been tampered with.
    for (dir, s) in &shards {
        for j in &s.jobs {
            if super::path_name(&j.tenant).is_err() || super::path_name(&j.id).is_err() {
                problems.push(format!(
                    "{}: the job {:?} of tenant {:?} is not a name `ctest batch` writes\n  fix: merge the report directories as the shards wrote them",
                    dir.join("summary.json").display(),
                    j.id,
                    j.tenant
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    // Every job of the file exactly once.
    let mut seen: BTreeMap<String, Vec<&PathBuf>> = BTreeMap::new();
    for (dir, s) in &shards {
        for j in &s.jobs {
            seen.entry(format!("{}/{}", j.tenant, j.id))
                .or_default()
                .push(dir);
        }
    }
    let missing: Vec<&String> = file
        .jobs
        .iter()
        .filter(|j| !seen.contains_key(*j))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{} of the {} jobs of {} are in no shard: {}\n  fix: merge every shard's report directory (a shard that failed to run must be run again)",
            missing.len(),
            file.jobs.len(),
            file.path,
            list(&missing)
        ));
    }
    for (job, where_) in &seen {
        if where_.len() > 1 {
            let dirs: Vec<String> = where_.iter().map(|d| d.display().to_string()).collect();
            problems.push(format!(
                "job {job} is in more than one shard: {}\n  fix: give each shard the same --partition mode and total, a different K, and merge each shard once",
                dirs.join(", ")
            ));
        }
        if !file.jobs.contains(job) {
            problems.push(format!(
                "job {job} is not a job of {}\n  fix: merge the shards of one job file",
                file.path
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    std::fs::create_dir_all(out).map_err(|e| {
        format!(
            "{}: cannot make the report directory: {e}\n  fix: choose a writable --report-dir",
            out.display()
        )
    })?;
    // The jobs in the file's order, each job's directory copied.
    let mut by_name: BTreeMap<String, (&PathBuf, JobOutcome)> = BTreeMap::new();
    for (dir, s) in &shards {
        for j in &s.jobs {
            by_name.insert(format!("{}/{}", j.tenant, j.id), (dir, j.clone()));
        }
    }
    let mut jobs = Vec::new();
    for name in &file.jobs {
        // Each job once (a name the file lists twice is taken once).
        let Some((dir, job)) = by_name.remove(name) else {
            continue;
        };
        let from = dir.join(&job.tenant).join(&job.id);
        if from.is_dir() {
            copy_dir(&from, &out.join(&job.tenant).join(&job.id))?;
        }
        jobs.push(job);
    }
    // The shards ran side by side: the merged batch took as long as the
    // longest.
    let wall_ms = shards.iter().map(|(_, s)| s.wall_ms).max().unwrap_or(0);
    let mut summary = BatchSummary::new(file, jobs, wall_ms);
    summary.merged_from = dirs.iter().map(|d| d.display().to_string()).collect();
    summary.write(out)?;
    Ok(summary)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn list(names: &[&String]) -> String {
    const SHOWN: usize = 10;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// Copies the regular files of `from` (a job's report directory: no
/// subdirectories) into `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    let fail = |p: &Path, e: std::io::Error| {
        format!("{}: cannot copy the job's reports: {e}", p.display())
    };
    std::fs::create_dir_all(to).map_err(|e| fail(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| fail(from, e))? {
        let entry = entry.map_err(|e| fail(from, e))?;
        // Only regular files: a link in a shard's directory is not followed.
        if entry.file_type().map_err(|e| fail(from, e))?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .map_err(|e| fail(&entry.path(), e))?;
        }
    }
    Ok(())
}
