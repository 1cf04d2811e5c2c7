//! The network a plugin gets: exactly the hosts its policy allows, on every
//! path (wasi:http, wasi:sockets TCP and UDP, name lookup), and HTTP record
//! and replay.
//!
//! - [`policy`]: the grammar of `allowed-hosts` entries and the decision.
//! - [`http`]: wasi:http requests, made by the host with reqwest once allowed,
//!   or served from a cassette.
//! - [`cassette`]: the recorded interactions and their matching.
//! - `name_lookup`: `wasi:sockets/ip-name-lookup`, decided by the policy.
//!
//! One [`Network`] per run holds the operator's options, the mode and the
//! run's tag. Each test gets a [`TestNetwork`], built from its own policy (an
//! `Arc<Policy>`: the spec's entries with the test's config substituted) and
//! redactor: its cassette, its HTTP client and DNS pins (the addresses its
//! policy checked, the only ones the client connects to), the addresses its
//! name lookups granted, and the problems its plugin instances ran into (a
//! denied attempt, a request missing from the cassette), which fail the test
//! with the host, the path, the plugin call and the fix.

pub mod cassette;
pub mod http;
pub(crate) mod name_lookup;
pub mod policy;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wasmtime_wasi::sockets::SocketAddrUse;

use crate::redact::Redactor;
pub use cassette::RecordedUnder;
use cassette::{Cassette, Interaction, Player};
use policy::{Host, Path, Policy, Refusal};

/// How HTTP is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Mode {
    /// Replay a test's cassette when it exists, else live (vcrpy's `once`).
    #[default]
    Auto,
    /// Real requests, nothing recorded.
    Live,
    /// Real requests, each test's written to its cassette.
    Record,
    /// Only cassettes: no network at all.
    Replay,
}

/// What the operator and the test configuration decide about the network.
#[derive(Debug, Clone)]
pub struct NetworkOptions {
    pub mode: Mode,
    pub cassette_dir: PathBuf,
    /// Query parameters left out when matching a request to a cassette.
    pub ignored_query_parameters: Vec<String>,
    /// Entries the operator adds (`--allow-host`).
    pub widen: Vec<String>,
    /// The test configuration's `allowed_hosts`: the spec's entries to keep.
    pub narrow: Option<Vec<String>>,
    /// The largest HTTP response body accepted (live and in replay).
    pub max_response_bytes: usize,
    /// The largest HTTP request body a plugin may send.
    pub max_request_bytes: usize,
    /// Connecting to a host must take less than this.
    pub connect_timeout: Duration,
    /// The most HTTP requests the whole run may make (an operator's quota
    /// per job); `None`: no quota.
    pub max_requests_per_run: Option<u64>,
    /// The most response body bytes the whole run may receive; `None`: no
    /// quota.
    pub max_response_bytes_per_run: Option<u64>,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            mode: Mode::Auto,
            cassette_dir: PathBuf::from("cassettes"),
            ignored_query_parameters: Vec::new(),
            widen: Vec::new(),
            narrow: None,
            max_response_bytes: 32 << 20,
            max_request_bytes: 32 << 20,
            connect_timeout: Duration::from_secs(10),
            max_requests_per_run: None,
            max_response_bytes_per_run: None,
        }
    }
}

/// The network of a run: the operator's options and the run's tag. It holds
/// no policy and no connection: each test's network is built from the policy
/// and the redactor its run passes ([`Network::for_test`]), with an HTTP
/// client and DNS pins of its own.
pub struct Network {
    options: NetworkOptions,
    /// Unique to the run: `ctest_` and 8 hex digits.
    tag: String,
    /// The run's HTTP requests and response bytes so far, against its quotas.
    requests: std::sync::atomic::AtomicU64,
    response_bytes: std::sync::atomic::AtomicU64,
    /// What the run should be told about its cassettes (the first few),
    /// and how many such notes there were.
    notes: Mutex<(Vec<String>, usize)>,
}

/// How many cassette notes a run keeps.
const MAX_NOTES: usize = 20;

/// A tag no other run shares: `ctest_` and 8 hex digits of a hash of the
/// time, the process and a counter.
fn new_tag() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let hash = blake3::hash(format!("{nanos}:{}:{n}", std::process::id()).as_bytes());
    format!("ctest_{}", &hash.to_hex()[..8])
}

impl Network {
    pub fn new(options: NetworkOptions) -> Network {
        Network {
            options,
            tag: new_tag(),
            requests: Default::default(),
            response_bytes: Default::default(),
            notes: Default::default(),
        }
    }

    fn note(&self, note: String) {
        let mut notes = lock(&self.notes);
        notes.1 += 1;
        if notes.0.len() < MAX_NOTES {
            notes.0.push(note);
        }
    }

    /// What the run should be told about its cassettes: why `--http auto`
    /// did not replay some (the first few, then how many more).
    pub fn notes(&self) -> Vec<String> {
        let notes = lock(&self.notes);
        let mut out = notes.0.clone();
        if notes.1 > notes.0.len() {
            out.push(format!(
                "and {} more cassettes not replayed",
                notes.1 - notes.0.len()
            ));
        }
        out
    }

    /// The policy of the spec's entries (`None`: the spec is not known yet,
    /// so nothing is allowed) with `config` substituted, narrowed by the test
    /// configuration and widened by the operator. `Err` says why the test
    /// configuration's narrowing cannot apply.
    pub fn policy_for(
        &self,
        spec_entries: Option<&[String]>,
        config: &Value,
    ) -> Result<Policy, String> {
        let mut policy = match spec_entries {
            None => Policy::default(),
            Some(entries) => {
                let mut p = Policy::from_entries(entries, config);
                if let Some(keep) = &self.options.narrow {
                    p.narrow(keep, config)?;
                }
                p
            }
        };
        if spec_entries.is_some() {
            let widened = Policy::from_operator(&self.options.widen, config);
            policy.entries.extend(widened.entries);
            policy.unusable.extend(widened.unusable);
        }
        Ok(policy)
    }

    /// The run's tag (`ctest_` and 8 hex digits): the id of its test data,
    /// and of its events.
    pub fn run_tag(&self) -> &str {
        &self.tag
    }

    /// How HTTP is served.
    pub fn mode(&self) -> Mode {
        self.options.mode
    }

    /// The network of one test, `id` being `suite/name` (with the input set's
    /// number): its cassette is `CASSETTE_DIR/suite/name.json`; it allows what
    /// `policy` allows, and keeps what `redactor` finds out of its cassette.
    /// `under` is what the test runs under: a cassette recorded under
    /// something else is not replayed by `--http auto` (the test goes live,
    /// saying why) and fails `--http replay`, naming what changed.
    pub fn for_test(
        self: &Arc<Self>,
        id: &str,
        policy: Arc<Policy>,
        redactor: Redactor,
        under: Option<Arc<RecordedUnder>>,
    ) -> TestNetwork {
        let file = self.options.cassette_dir.join(cassette_name(id));
        let mut problems = Vec::new();
        let mut went_live = None;
        let replay = |cassette: Cassette| {
            TestMode::Replay(Mutex::new(Player::new(
                file.clone(),
                cassette,
                self.options.ignored_query_parameters.clone(),
            )))
        };
        let mode = match self.options.mode {
            Mode::Live => TestMode::Live,
            Mode::Record => TestMode::Record(file.clone()),
            Mode::Auto if !file.exists() => TestMode::Live,
            mode @ (Mode::Auto | Mode::Replay) => {
                // No cassette (or a broken one, reported): every request misses.
                let cassette = match file.exists().then(|| Cassette::read(&file)) {
                    Some(Ok(c)) => Some(c),
                    Some(Err(e)) => {
                        problems.push(e);
                        None
                    }
                    None => None,
                };
                let mismatch = cassette
                    .as_ref()
                    .and_then(|c| mismatch(c, under.as_deref(), mode));
                match (mode, mismatch) {
                    (Mode::Auto, Some(why)) => {
                        let reason = format!(
                            "{id}: not replaying {}: {why}; going live (--http replay would fail, --http record records it again)",
                            file.display()
                        );
                        self.note(reason.clone());
                        went_live = Some(reason);
                        TestMode::Live
                    }
                    (_, Some(why)) => {
                        problems.push(format!(
                            "the cassette {} does not fit this run: {why}; replaying it could pass on another run's traffic\n  fix: record it again with --http record (against the live API), or run with the configuration it was recorded under",
                            file.display()
                        ));
                        let mut player = Player::new(
                            file.clone(),
                            Cassette::empty(id),
                            self.options.ignored_query_parameters.clone(),
                        );
                        player.unfit = true;
                        TestMode::Replay(Mutex::new(player))
                    }
                    (_, None) => replay(cassette.unwrap_or_else(|| Cassette::empty(id))),
                }
            }
        };
        TestNetwork(Arc::new(TestNet {
            network: self.clone(),
            id: id.to_string(),
            policy,
            redactor,
            mode,
            under,
            went_live,
            problems: Mutex::new(problems),
            recorded: Mutex::new(Vec::new()),
            grants: Mutex::new(HashMap::new()),
            client: std::sync::OnceLock::new(),
            pins: Arc::default(),
            usage: Arc::default(),
        }))
    }
}

/// Why `cassette` must not be replayed in a test running `under` (`None`:
/// it may). A cassette of another build of the plugin is replayed by
/// `--http replay` (CI replays recorded traffic against a new build; a
/// request it did not record misses) but not by `--http auto`.
fn mismatch(cassette: &Cassette, under: Option<&RecordedUnder>, mode: Mode) -> Option<String> {
    let now = under?;
    let Some(recorded) = &cassette.recorded_under else {
        return Some(
            "it does not say what it was recorded under (an older ctest recorded it)".into(),
        );
    };
    let mut differences = recorded.differences(now);
    if mode == Mode::Auto && recorded.plugin != now.plugin {
        differences.insert(
            0,
            format!(
                "another build of the plugin recorded it (digest {}…, now {}…)",
                crate::sandbox::clip_to(&recorded.plugin, 12),
                &now.plugin[..12]
            ),
        );
    }
    (!differences.is_empty()).then(|| {
        format!(
            "what it was recorded under differs: {}",
            differences.join("; ")
        )
    })
}

/// The cassette file of the test `id` under the cassette directory: one
/// directory per `/`-separated part of the id, every character outside
/// letters, digits and `_-.=,[]` made `_` (an input set's `#2` is `-2`), a
/// part of dots alone made `_`, a long part shortened with a hash of it. An
/// id made from a scenario file (its name, its `for_each` values) so never
/// leads out of the directory.
pub fn cassette_name(id: &str) -> PathBuf {
    const LONGEST: usize = 120;
    let mut path = PathBuf::new();
    let parts: Vec<&str> = id.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let mut clean: String = part
            .chars()
            .map(|c| match c {
                '#' => '-',
                c if c.is_ascii_alphanumeric() || "_-.=,[]".contains(c) => c,
                _ => '_',
            })
            .collect();
        if clean.chars().all(|c| c == '.') {
            clean = "_".repeat(clean.len().max(1));
        }
        if clean.len() > LONGEST {
            let hash = blake3::hash(part.as_bytes()).to_hex();
            clean = format!("{}~{}", &clean[..LONGEST - 17], &hash[..16]);
        }
        if i + 1 == parts.len() {
            clean.push_str(".json");
        }
        path.push(clean);
    }
    path
}

enum TestMode {
    Live,
    Record(PathBuf),
    Replay(Mutex<Player>),
}

struct TestNet {
    network: Arc<Network>,
    id: String,
    policy: Arc<Policy>,
    redactor: Redactor,
    mode: TestMode,
    /// What the test runs under, written into its cassette in record mode.
    under: Option<Arc<RecordedUnder>>,
    /// Why `--http auto` did not replay the test's cassette.
    went_live: Option<String>,
    problems: Mutex<Vec<String>>,
    recorded: Mutex<Vec<Interaction>>,
    /// Addresses an allowed name lookup returned, with the name: a socket may
    /// connect to them as that name.
    grants: Mutex<HashMap<IpAddr, String>>,
    /// The test's HTTP client, made at its first live request; it connects
    /// only to the addresses in `pins`.
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
    /// Addresses checked against this test's policy, by host name.
    pins: Arc<Mutex<HashMap<String, Vec<SocketAddr>>>>,
    /// What the test's plugin instances used (they share this network).
    usage: Arc<crate::usage::Usage>,
}

/// The network of one test, shared by the plugin instances it creates.
#[derive(Clone)]
pub struct TestNetwork(Arc<TestNet>);

/// The plugin call in progress, for messages (shared with the hooks).
pub type CurrentCall = Arc<Mutex<String>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl TestNetwork {
    /// A network that allows nothing and records nothing (for the benchmarks
    /// and for calls outside a test).
    pub fn none() -> TestNetwork {
        let options = NetworkOptions {
            mode: Mode::Live,
            ..NetworkOptions::default()
        };
        Arc::new(Network::new(options)).for_test(
            "none",
            Arc::new(Policy::default()),
            Redactor::default(),
            None,
        )
    }

    /// The tag for test data this test writes: the run's, or in replay the
    /// one the cassette was recorded with.
    pub fn tag(&self) -> String {
        match &self.0.mode {
            TestMode::Replay(player) => lock(player)
                .tag
                .clone()
                .unwrap_or_else(|| self.0.network.tag.clone()),
            _ => self.0.network.tag.clone(),
        }
    }

    /// What the test's instances used so far: CPU, memory, instances, HTTP.
    pub fn usage(&self) -> &crate::usage::Usage {
        &self.0.usage
    }

    /// What went wrong on the network during the test: each a full message.
    pub fn problems(&self) -> Vec<String> {
        lock(&self.0.problems).clone()
    }

    fn problem(&self, message: String) {
        let mut problems = lock(&self.0.problems);
        if !problems.contains(&message) && problems.len() < 20 {
            problems.push(message);
        }
    }

    /// Ends the test: in record mode, writes its cassette (or removes a stale
    /// one when it made no request).
    pub fn finish(&self) -> Result<(), String> {
        let TestMode::Record(file) = &self.0.mode else {
            return Ok(());
        };
        let interactions = std::mem::take(&mut *lock(&self.0.recorded));
        if interactions.is_empty() {
            if file.exists() {
                std::fs::remove_file(file).map_err(|e| {
                    format!("{}: cannot remove the stale cassette: {e}", file.display())
                })?;
            }
            return Ok(());
        }
        Cassette {
            test: self.0.id.clone(),
            recorded_under: self.0.under.as_deref().cloned(),
            tag: Some(self.0.network.tag.clone()),
            interactions,
        }
        .write(file)
    }

    /// Records a denied attempt and says how to allow it.
    fn denied(&self, call: &str, path: Path, host: &Host, port: Option<u16>, refusal: Refusal) {
        let policy = &self.0.policy;
        let on = match port {
            Some(p) => format!("`{host}` port {p} over {}", path.name()),
            None => format!("`{host}` (a name lookup)"),
        };
        let allowed = if policy.entries.is_empty() && self.0.network.options.narrow.is_some() {
            "the test configuration's `allowed_hosts` left no host of the spec's allowed"
                .to_string()
        } else if policy.entries.is_empty() {
            "the spec allows no host".to_string()
        } else {
            format!(
                "the policy allows {}",
                policy
                    .entries
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let unusable = if policy.unusable.is_empty() {
            String::new()
        } else {
            format!("; unusable entries: {}", policy.unusable.join("; "))
        };
        let message = match refusal {
            Refusal::NotAllowed => {
                let entry = Policy::suggestion(path, host, port);
                let fix = match host {
                    Host::Ip(ip) if !policy::is_public(*ip) => format!(
                        "{ip} is a non-public address, which only the operator grants: if this run should reach it, pass --allow-host {entry}"
                    ),
                    _ => format!(
                        "if the connector needs it, add `{entry}` to `allowed-hosts` in its spec (or, as the operator, pass --allow-host {entry})"
                    ),
                };
                format!(
                    "the network policy denied {on} during `{call}`: no entry allows it ({allowed}{unusable})\n\
                     fix: {fix}"
                )
            }
            Refusal::NonPublic(ip) => {
                // Name the host as the plugin did, so the grant covers it.
                let named = match host {
                    Host::Name(_) => host.clone(),
                    Host::Ip(_) => Host::Ip(ip),
                };
                let entry = Policy::suggestion(path, &named, port);
                format!(
                    "the network policy denied {on} during `{call}`: it is or resolves to {ip}, a non-public address (loopback, private, link-local or metadata, or reserved), which only the operator grants: never the spec's `allowed-hosts`, nor a config value\n\
                     fix: if this run should reach it, the operator passes --allow-host {entry}"
                )
            }
        };
        // A test that went live because its cassette did not fit says so.
        let message = match &self.0.went_live {
            Some(why) => format!("{message}\n  (the test went live: {why})"),
            None => message,
        };
        self.problem(message);
    }

    /// The socket address check of an instance: a connection or datagram is
    /// allowed to an IP literal an entry names, or to an address an allowed
    /// name lookup returned. Binds to the wildcard address (which `connect`
    /// asks for) are allowed; listening and accepting are not.
    pub fn socket_check(
        &self,
        call: CurrentCall,
    ) -> impl Fn(
        SocketAddr,
        SocketAddrUse,
    ) -> Pin<Box<dyn std::future::Future<Output = bool> + Send + Sync>>
    + Send
    + Sync
    + 'static {
        let net = self.clone();
        move |addr, usage| {
            let allowed = net.socket_allowed(&lock(&call), addr, usage);
            Box::pin(std::future::ready(allowed))
        }
    }

    fn socket_allowed(&self, call: &str, addr: SocketAddr, usage: SocketAddrUse) -> bool {
        let path = match usage {
            SocketAddrUse::TcpBind | SocketAddrUse::UdpBind => {
                return addr.ip().is_unspecified() && addr.port() == 0;
            }
            SocketAddrUse::TcpConnect => Path::Tcp,
            SocketAddrUse::UdpSend | SocketAddrUse::UdpReceive => Path::Udp,
            _ => {
                self.problem(format!(
                    "the plugin tried to accept connections on {addr} during `{call}`; ctest gives plugins no listening sockets\n\
                     fix: a connector only makes outgoing connections"
                ));
                return false;
            }
        };
        if matches!(self.0.mode, TestMode::Replay(_)) {
            self.problem(format!(
                "the plugin opened a {} connection to {addr} during `{call}` in replay mode, where only recorded HTTP is served\n\
                 fix: reach the API over wasi:http (recorded in cassettes), or run with --http live",
                path.name()
            ));
            return false;
        }
        let ip = addr.ip().to_canonical();
        let granted = lock(&self.0.grants).get(&ip).cloned();
        let (host, resolved) = match granted {
            Some(name) => (Host::Name(name), vec![ip]),
            None => (Host::Ip(ip), Vec::new()),
        };
        match self
            .0
            .policy
            .check(path, &host, Some(addr.port()), &resolved)
        {
            Ok(()) => true,
            Err(refusal) => {
                // Name the address when the name was not the problem.
                self.denied(call, path, &Host::Ip(ip), Some(addr.port()), refusal);
                false
            }
        }
    }

    /// A name lookup: allowed for a name some entry allows, answered with the
    /// addresses that pass the policy (each then granted to sockets).
    pub async fn lookup(&self, call: &str, name: &str) -> Result<Vec<IpAddr>, LookupError> {
        let host = Host::parse(name);
        if matches!(self.0.mode, TestMode::Replay(_)) {
            self.problem(format!(
                "the plugin looked up `{name}` during `{call}` in replay mode, where only recorded HTTP is served\n\
                 fix: reach the API over wasi:http (recorded in cassettes), or run with --http live"
            ));
            return Err(LookupError::Denied);
        }
        if let Err(refusal) = self.0.policy.check(Path::Dns, &host, None, &[]) {
            self.denied(call, Path::Dns, &host, None, refusal);
            return Err(LookupError::Denied);
        }
        let addresses: Vec<IpAddr> = match &host {
            Host::Ip(ip) => vec![*ip],
            Host::Name(n) => tokio::net::lookup_host((n.as_str(), 0))
                .await
                .map_err(|_| LookupError::Unresolvable)?
                .map(|a| a.ip().to_canonical())
                .collect(),
        };
        if let Err(refusal) = self.0.policy.check(Path::Dns, &host, None, &addresses) {
            self.denied(call, Path::Dns, &host, None, refusal);
            return Err(LookupError::Denied);
        }
        if let Host::Name(n) = &host {
            let mut grants = lock(&self.0.grants);
            for ip in &addresses {
                grants.insert(*ip, n.clone());
            }
        }
        Ok(addresses)
    }
}

/// Why a name lookup gave no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupError {
    Denied,
    Unresolvable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cassette_name_never_leads_out_of_the_cassette_directory() {
        for (id, want) in [
            ("basic_read/read#2", "basic_read/read-2.json"),
            (
                "scenario/shop/rejects[field=base_url,value=ftp://x]",
                "scenario/shop/rejects[field=base_url,value=ftp_/_/x].json",
            ),
            ("scenario/../..", "scenario/__/__.json"),
            ("scenario/a/b c\\d", "scenario/a/b_c_d.json"),
        ] {
            assert_eq!(cassette_name(id), PathBuf::from(want), "{id}");
        }
        let long = format!("scenario/f/{}", "x".repeat(500));
        let name = cassette_name(&long);
        assert!(
            name.components().all(|c| c.as_os_str().len() <= 125),
            "{name:?}"
        );
        assert_ne!(
            name,
            cassette_name(&format!("scenario/f/{}y", "x".repeat(499)))
        );
    }
}
