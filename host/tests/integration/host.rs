//! One `Host` per process: plans run on it by the session, on several
//! threads at once, get the verdicts they get alone.

use std::sync::Mutex;
use std::time::Instant;

use crate::support::*;
use ctest::report::{Event, Reporter, Status};
use ctest::sandbox::{CompileCache, Host, HostOptions};
use ctest::session::{self, ConfigSource, RunRequest};

/// Eight different plugins: one that passes, and broken ones that fail in
/// different ways (a trap in `spec` and in a read, a failed check, an empty
/// catalog, reads that break the incremental and full-refresh rules, records
/// with undeclared fields).
const PLUGINS: [&str; 8] = [
    "source-faker",
    "broken-spec-panics",
    "broken-read-panics",
    "broken-check-fails",
    "broken-discover-empty",
    "broken-incremental-no-state",
    "broken-full-refresh-not-repeatable",
    "broken-read-undeclared-field",
];

/// A run's verdicts: each test's id, status and message (run tags masked:
/// each run has its own).
type Verdicts = Vec<(String, Status, Option<String>)>;

struct Collect(Verdicts);

impl Reporter for Collect {
    fn event(&mut self, event: &Event) -> Result<(), String> {
        if let Event::TestFinished { result, .. } = event {
            let tag = regex::Regex::new("ctest_[0-9a-f]{8}").unwrap();
            let message = result
                .message
                .as_ref()
                .map(|m| tag.replace_all(m, "ctest_TAG").into_owned());
            self.0.push((result.id(), result.status, message));
        }
        Ok(())
    }
}

/// Runs every suite of `name` with faker's config (the broken plugins are
/// faker's shape), planned and run by the session on `host`, as a batch
/// runner would; the verdicts, and when the run started and ended.
fn verdicts(host: &Host, name: &str) -> (Verdicts, Instant, Instant) {
    let started = Instant::now();
    let request = RunRequest::new(plugin(name), ConfigSource::File(faker_config()));
    let plan = session::plan(&request).unwrap();
    let mut reporter = Collect(Vec::new());
    session::run(host, &plan, &mut reporter).unwrap();
    (reporter.0, started, Instant::now())
}

#[test]
fn eight_plugins_on_four_threads_share_one_host_and_get_the_verdicts_they_get_alone() {
    let host = Host::new(
        &HostOptions::default(),
        CompileCache::new(Some(cache_dir())),
    )
    .unwrap();
    let alone: Vec<Verdicts> = PLUGINS.iter().map(|name| verdicts(&host, name).0).collect();
    // The comparison means something: the plugins fail, each differently.
    assert!(alone[0].iter().all(|(_, s, _)| *s != Status::Failed));
    for (name, v) in PLUGINS.iter().zip(&alone).skip(1) {
        assert!(
            v.iter().any(|(_, s, _)| *s == Status::Failed),
            "{name} fails some test"
        );
    }

    // Four threads take the plugins from one queue.
    let queue = Mutex::new((0..PLUGINS.len()).collect::<Vec<_>>());
    let together = Mutex::new(vec![None; PLUGINS.len()]);
    let windows = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let Some(i) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let (v, started, ended) = verdicts(&host, PLUGINS[i]);
                    together.lock().unwrap()[i] = Some(v);
                    windows.lock().unwrap().push((started, ended));
                }
            });
        }
    });
    let together: Vec<Verdicts> = together
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    for ((name, alone), together) in PLUGINS.iter().zip(&alone).zip(&together) {
        assert_eq!(
            alone, together,
            "{name}: the verdicts alone, then on four threads"
        );
    }
    // The runs did overlap: some run started before another had ended.
    let windows = windows.into_inner().unwrap();
    let overlapped = windows.iter().enumerate().any(|(i, a)| {
        windows
            .iter()
            .enumerate()
            .any(|(j, b)| i != j && a.0 < b.1 && b.0 < a.1)
    });
    assert!(overlapped, "the runs ran at the same time: {windows:?}");
}

/// A failure reaches the reporters as data: what was expected, the first
/// problems with how many more, and the fix; its text is the message.
#[test]
fn a_failure_reaches_the_reporters_as_data() {
    struct Failures(Vec<(String, ctest::checks::Failure, String)>);
    impl Reporter for Failures {
        fn event(&mut self, event: &Event) -> Result<(), String> {
            if let Event::TestFinished { result, .. } = event
                && let Some(failure) = &result.failure
            {
                let message = result.message.clone().unwrap_or_default();
                self.0.push((result.id(), failure.clone(), message));
            }
            Ok(())
        }
    }
    let host = Host::new(
        &HostOptions::default(),
        CompileCache::new(Some(cache_dir())),
    )
    .unwrap();
    let request = RunRequest {
        selection: ctest::suites::Selection::only(vec!["basic_read/".into()]),
        ..RunRequest::new(
            plugin("broken-read-undeclared-field"),
            ConfigSource::File(faker_config()),
        )
    };
    let plan = session::plan(&request).unwrap();
    let mut reporter = Failures(Vec::new());
    session::run(&host, &plan, &mut reporter).unwrap();
    let [(id, failure, message)] = reporter.0.as_slice() else {
        panic!("one failure: {:?}", reporter.0);
    };
    assert_eq!(id, "basic_read/no_undeclared_fields");
    assert_eq!(
        failure.expected,
        "expected every field of a record to be declared in its stream's schema; 1000 problem(s):"
    );
    assert_eq!(failure.problems.len(), 3);
    assert_eq!(
        failure.problems[0],
        "record index 0 of stream `users` has the field `/nickname`, which its schema does not declare"
    );
    assert_eq!(failure.more, 997);
    assert_eq!(
        failure.fix.as_deref(),
        Some("declare the field in the stream's schema, or stop emitting it")
    );
    assert_eq!(&failure.message(), message);
}

/// The same plugin loaded by several jobs at once (several tenants' jobs
/// naming the same bytes) is compiled once and shared; the next host finds
/// it in the compile cache.
#[test]
fn the_same_bytes_loaded_at_once_compile_once_and_are_shared() {
    use ctest::sandbox::CacheOutcome;
    let dir = tempfile::tempdir().unwrap();
    let host = Host::new(
        &HostOptions::default(),
        CompileCache::new(Some(dir.path().to_path_buf())),
    )
    .unwrap();
    let wasm = plugin("source-numbers");
    let barrier = std::sync::Barrier::new(4);
    let outcomes: Vec<CacheOutcome> = std::thread::scope(|scope| {
        let loads: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    host.load(&wasm).unwrap().cache_outcome
                })
            })
            .collect();
        loads.into_iter().map(|l| l.join().unwrap()).collect()
    });
    let compiled = outcomes
        .iter()
        .filter(|o| **o == CacheOutcome::Compiled)
        .count();
    let shared = outcomes
        .iter()
        .filter(|o| **o == CacheOutcome::Shared)
        .count();
    assert_eq!((compiled, shared), (1, 3), "{outcomes:?}");
    let next = Host::new(
        &HostOptions::default(),
        CompileCache::new(Some(dir.path().to_path_buf())),
    )
    .unwrap();
    assert_eq!(next.load(&wasm).unwrap().cache_outcome, CacheOutcome::Hit);
}

/// A warm load hashes the plugin's file as it reads it and keeps none of
/// it: the digest (what cassettes and pinned jobs check) is the file's
/// BLAKE3 whether the component was compiled, taken from the cache or
/// shared; and a file rewritten with other bytes is that other component.
#[test]
fn every_load_names_the_files_bytes_and_a_rewritten_file_is_loaded_anew() {
    use ctest::sandbox::CacheOutcome;
    let dir = tempfile::tempdir().unwrap();
    let cache = || CompileCache::new(Some(dir.path().join("cache")));
    let file = dir.path().join("plugin.wasm");
    let numbers = std::fs::read(plugin("source-numbers")).unwrap();
    std::fs::write(&file, &numbers).unwrap();
    let load = |host: &Host| {
        let c = host.load(&file).unwrap();
        (c.cache_outcome, c.digest)
    };
    let first = Host::new(&HostOptions::default(), cache()).unwrap();
    let second = Host::new(&HostOptions::default(), cache()).unwrap();
    let digest = blake3::hash(&numbers);
    assert_eq!(load(&first), (CacheOutcome::Compiled, digest));
    assert_eq!(load(&second), (CacheOutcome::Hit, digest));
    assert_eq!(load(&second), (CacheOutcome::Shared, digest));

    let other = std::fs::read(plugin("source-faker")).unwrap();
    std::fs::write(&file, &other).unwrap();
    let (outcome, new_digest) = load(&second);
    assert_eq!(
        (outcome, new_digest),
        (CacheOutcome::Compiled, blake3::hash(&other))
    );
    let third = Host::new(&HostOptions::default(), cache()).unwrap();
    assert_eq!(load(&third), (CacheOutcome::Hit, blake3::hash(&other)));
    // Not a component: refused from the file's first bytes, with the reason.
    std::fs::write(&file, b"\0asm\x01\0\0\0").unwrap();
    let refused = third.load(&file).err().expect("a core module is refused");
    assert!(format!("{refused}").contains("core"), "{refused}");
}

/// The bytes this process has read with `read` and its kin so far.
#[cfg(target_os = "linux")]
fn bytes_read() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A warm load reads the plugin's file once (hashing it as it goes) and
/// its cache entry once (verifying it), then maps the entry; once both have
/// settled (ctest's settling time, 2 s, since they were written) and been
/// read so, later loads know them by their identity and read neither. A
/// load that read the plugin again, or read the entry into memory as well,
/// reads more than that.
#[cfg(target_os = "linux")]
#[test]
fn a_warm_load_reads_the_plugin_and_its_entry_at_most_once_and_maps_the_entry() {
    use ctest::sandbox::CacheOutcome;
    let settle = std::time::Duration::from_millis(2_100);
    let dir = tempfile::tempdir().unwrap();
    let cache = || CompileCache::new(Some(dir.path().join("cache")));
    let wasm = dir.path().join("source-numbers.wasm");
    std::fs::copy(plugin("source-numbers"), &wasm).unwrap();
    std::thread::sleep(settle);
    let first = Host::new(&HostOptions::default(), cache()).unwrap();
    assert_eq!(
        first.load(&wasm).unwrap().cache_outcome,
        CacheOutcome::Compiled
    );
    let entry = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .unwrap();
    let plugin_len = std::fs::metadata(&wasm).unwrap().len();
    let entry_len = std::fs::metadata(&entry).unwrap().len();
    let load = || {
        let host = Host::new(&HostOptions::default(), cache()).unwrap();
        let before = bytes_read();
        let component = host.load(&wasm).unwrap();
        let read = bytes_read() - before;
        assert_eq!(component.cache_outcome, CacheOutcome::Hit);
        (component, read)
    };
    // The key file, the records, /proc and the like: a few KiB.
    let slack = plugin_len / 2;
    // The plugin, settled, was hashed by the first load: known. The entry,
    // just written, is read and verified.
    let (_, read) = load();
    assert!(
        read >= entry_len && read < entry_len + slack,
        "read {read} bytes; the plugin is {plugin_len} and its entry {entry_len}"
    );
    std::thread::sleep(settle);
    // The entry, settled, is verified once more and recorded; then known.
    let (_, read) = load();
    assert!(
        read >= entry_len && read < entry_len + slack,
        "read {read} bytes"
    );
    let (_component, read) = load();
    assert!(
        read < slack,
        "read {read} bytes of a known plugin and entry"
    );
    let entry = entry.canonicalize().unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        maps.lines().any(|l| l.ends_with(entry.to_str().unwrap())),
        "the entry is not mapped"
    );
}

/// A tenant's instance quota, shared by its jobs: while another job of the
/// tenant holds its only slot, a test that needs an instance fails at once
/// naming the quota (it does not wait); once the slot is given back, the
/// same plan runs.
#[test]
fn a_tenant_whose_instance_slots_are_taken_gets_no_instance_and_is_told_why() {
    let host = Host::new(
        &HostOptions::default(),
        CompileCache::new(Some(cache_dir())),
    )
    .unwrap();
    let slots = ctest::sandbox::InstanceSlots::new(1);
    let request = RunRequest {
        selection: ctest::suites::Selection::only(vec!["spec/".into()]),
        instance_slots: Some(slots.clone()),
        ..RunRequest::new(plugin("source-faker"), ConfigSource::File(faker_config()))
    };
    let plan = session::plan(&request).unwrap();
    let held = slots.take().expect("the only slot");
    let mut reporter = Collect(Vec::new());
    session::run(&host, &plan, &mut reporter).unwrap();
    let (id, status, message) = &reporter.0[0];
    assert_eq!((id.as_str(), *status), ("spec/spec_call", Status::Failed));
    assert!(
        message.as_deref().unwrap_or_default().contains(
            "the tenant's quota of 1 plugin instances at once (`max_concurrent_instances` in the job file's operator section) was in use"
        ),
        "{message:?}"
    );
    drop(held);
    let mut reporter = Collect(Vec::new());
    session::run(&host, &plan, &mut reporter).unwrap();
    assert!(
        reporter.0.iter().all(|(_, s, _)| *s != Status::Failed),
        "{:?}",
        reporter.0
    );
    assert_eq!(slots.in_use(), 0, "every instance gave its slot back");
}
