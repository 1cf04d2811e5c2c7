//! The network policy: which hosts a plugin may reach, from the entries its
//! spec declares (`allowed-hosts`), narrowed by the test configuration and
//! widened only by the operator's `--allow-host`.
//!
//! An entry is `[scheme://]host[:port]`:
//! - scheme: `http`, `https`, `tcp`, `udp` or `*`; none means any;
//! - host: a name (`api.vendor.com`), a wildcard for its subdomains
//!   (`*.vendor.com`, which does not match `vendor.com` itself), `*` for any
//!   public host, an IPv4 literal or a bracketed IPv6 literal;
//! - port: a number or `*`; none means the scheme's port (80 for http, 443 for
//!   https), or any port without a scheme;
//! - `${path}` anywhere in the entry is replaced by the config value at that
//!   dotted path, so `${base_url}` may stand for a whole URL (whose path is
//!   ignored).
//!
//! Non-public addresses (loopback, private, link-local and cloud metadata,
//! shared (CGNAT), multicast, documentation and other reserved ranges,
//! IPv4-mapped and NAT64 forms included) are reachable only through an entry
//! of the operator's (`--allow-host`, or a batch job file's operator section)
//! that names them: an IP literal or a host name. Never through the spec's
//! entries, nor through a config value substituted into one: both are the
//! tenant's. A name that resolves to one is refused, so DNS cannot steer a
//! plugin around the policy.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

/// Which way a plugin tries to reach a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Http,
    Https,
    Tcp,
    Udp,
    Dns,
}

impl Path {
    pub fn name(self) -> &'static str {
        match self {
            Path::Http => "http",
            Path::Https => "https",
            Path::Tcp => "tcp",
            Path::Udp => "udp",
            Path::Dns => "dns",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.suffix`: a subdomain of `suffix` (lowercase, without the dot).
    Subdomains(String),
    /// A name, lowercase.
    Name(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Exact(u16),
}

/// One parsed entry of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// As written (before substitution), for messages.
    pub source: String,
    /// Given by the operator: only such an entry grants non-public addresses.
    pub operator: bool,
    /// `None`: any scheme.
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Entry {
    /// Parses an entry with its `${...}` substitutions already made.
    pub fn parse(source: &str, text: &str) -> Result<Entry, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the entry is empty".into());
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((s, rest)) => {
                let s = s.to_ascii_lowercase();
                if !["http", "https", "tcp", "udp", "*"].contains(&s.as_str()) {
                    return Err(format!(
                        "unknown scheme `{s}` (use http, https, tcp, udp or *)"
                    ));
                }
                (if s == "*" { None } else { Some(s) }, rest)
            }
            None => (None, text),
        };
        // A URL's path, query and fragment play no part.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let (host, port) = split_host_port(authority)?;
        let host = parse_host(host)?;
        let port = match port {
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(
                p.parse()
                    .map_err(|_| format!("`{p}` is not a port (a number up to 65535, or *)"))?,
            ),
            None => match scheme.as_deref() {
                Some("http") => PortPattern::Exact(80),
                Some("https") => PortPattern::Exact(443),
                _ => PortPattern::Any,
            },
        };
        Ok(Entry {
            source: source.to_string(),
            operator: false,
            scheme,
            host,
            port,
        })
    }

    fn scheme_allows(&self, path: Path) -> bool {
        match (&self.scheme, path) {
            (None, _) => true,
            // A name lookup serves whatever scheme follows it.
            (Some(_), Path::Dns) => true,
            (Some(s), p) => s == p.name(),
        }
    }

    fn port_allows(&self, port: Option<u16>) -> bool {
        match (&self.port, port) {
            (PortPattern::Any, _) | (_, None) => true,
            (PortPattern::Exact(a), Some(b)) => *a == b,
        }
    }

    /// Whether the entry names this host (a name or an IP literal).
    fn host_matches(&self, host: &Host) -> bool {
        match (&self.host, host) {
            (HostPattern::Any, _) => true,
            (HostPattern::Name(n), Host::Name(h)) => n == h,
            (HostPattern::Subdomains(s), Host::Name(h)) => h
                .strip_suffix(s.as_str())
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            (HostPattern::Ip(a), Host::Ip(b)) => canonical(*a) == canonical(*b),
            _ => false,
        }
    }

    /// Whether the entry grants non-public addresses: an operator's entry
    /// naming the host (an IP literal or a name, not a wildcard).
    fn grants_non_public(&self) -> bool {
        self.operator && matches!(self.host, HostPattern::Ip(_) | HostPattern::Name(_))
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (ip, after) = rest
            .split_once(']')
            .ok_or("an IPv6 literal must be closed with `]`")?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((ip, Some(port))),
            None if after.is_empty() => Ok((ip, None)),
            None => Err(format!("unexpected `{after}` after the IPv6 literal")),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((host, Some(port))),
        Some(_) => Err("an IPv6 literal must be bracketed: [::1]:8080".into()),
        None => Ok((authority, None)),
    }
}

fn parse_host(host: &str) -> Result<HostPattern, String> {
    if host.is_empty() {
        return Err("the entry has no host".into());
    }
    if host == "*" {
        return Ok(HostPattern::Any);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(HostPattern::Ip(ip));
    }
    let lower = host.to_ascii_lowercase();
    if let Some(suffix) = lower.strip_prefix("*.") {
        if suffix.is_empty() || suffix.contains('*') {
            return Err(format!("`{host}`: a wildcard is `*.domain`"));
        }
        return Ok(HostPattern::Subdomains(suffix.to_string()));
    }
    if lower.contains('*') {
        return Err(format!(
            "`{host}`: `*` stands only for a whole host or as `*.domain`"
        ));
    }
    if !lower
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(format!("`{host}` is not a host name"));
    }
    Ok(HostPattern::Name(lower.trim_end_matches('.').to_string()))
}

/// A host as a plugin names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Host {
    pub fn parse(text: &str) -> Host {
        let trimmed = text.trim_start_matches('[').trim_end_matches(']');
        match trimmed.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(text.to_ascii_lowercase().trim_end_matches('.').to_string()),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// The entries in force for a run, after substitution.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub entries: Vec<Entry>,
    /// Entries that could not be used (a `${path}` the config lacks, a bad
    /// form), with why: shown when something is denied.
    pub unusable: Vec<String>,
}

/// Why an attempt was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No entry names the host (with this scheme and port).
    NotAllowed,
    /// It is (or resolves to) a non-public address that no operator's entry
    /// names.
    NonPublic(IpAddr),
}

impl Policy {
    /// The operator's entries (`--allow-host`), which may grant non-public
    /// addresses.
    pub fn from_operator(entries: &[String], config: &Value) -> Policy {
        let mut policy = Self::from_entries(entries, config);
        for e in &mut policy.entries {
            e.operator = true;
        }
        policy
    }

    /// The policy from the spec's entries with `${path}` replaced from `config`.
    pub fn from_entries(entries: &[String], config: &Value) -> Policy {
        let mut policy = Policy::default();
        for source in entries {
            match substitute(source, config).and_then(|text| Entry::parse(source, &text)) {
                Ok(e) => policy.entries.push(e),
                Err(why) => policy.unusable.push(format!("`{source}`: {why}")),
            }
        }
        policy
    }

    /// The entries that allow `host` on `path` and `port` (not yet looking at
    /// what it resolves to).
    fn matching(&self, path: Path, host: &Host, port: Option<u16>) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.scheme_allows(path) && e.port_allows(port) && e.host_matches(host))
            .collect()
    }

    /// Whether `host` may be reached on `path` (and `port`, when known).
    /// For a name, `addresses` are what it resolved to; each must be public
    /// unless an entry names the host explicitly.
    pub fn check(
        &self,
        path: Path,
        host: &Host,
        port: Option<u16>,
        addresses: &[IpAddr],
    ) -> Result<(), Refusal> {
        let entries = self.matching(path, host, port);
        if entries.is_empty() {
            return Err(Refusal::NotAllowed);
        }
        let explicit = entries.iter().any(|e| e.grants_non_public());
        let ips: Vec<IpAddr> = match host {
            Host::Ip(ip) => vec![*ip],
            Host::Name(_) => addresses.to_vec(),
        };
        match ips.into_iter().find(|ip| !is_public(*ip)) {
            Some(ip) if !explicit => Err(Refusal::NonPublic(ip)),
            _ => Ok(()),
        }
    }

    /// Narrows to the entries the test configuration lists: each must be one
    /// the spec declares (compared as written, or after substitution).
    pub fn narrow(&mut self, keep: &[String], config: &Value) -> Result<(), String> {
        let mut kept = Vec::new();
        for wanted in keep {
            let text = substitute(wanted, config)?;
            let parsed = Entry::parse(wanted, &text)?;
            let found = self.entries.iter().find(|e| {
                e.source == *wanted
                    || (e.scheme == parsed.scheme && e.host == parsed.host && e.port == parsed.port)
            });
            match found {
                Some(e) => kept.push(e.clone()),
                None => {
                    return Err(format!(
                        "`{wanted}` is not among the hosts the spec allows ({}); the test configuration may only narrow that list (the operator widens it with --allow-host)",
                        self.entries
                            .iter()
                            .map(|e| format!("`{e}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        self.entries = kept;
        Ok(())
    }

    /// The entry that would allow `host` on `path` and `port`: what to add to
    /// the spec.
    pub fn suggestion(path: Path, host: &Host, port: Option<u16>) -> String {
        match (path, port) {
            (Path::Http, Some(80)) | (Path::Https, Some(443)) => {
                format!("{}://{host}", path.name())
            }
            (Path::Http | Path::Https | Path::Tcp | Path::Udp, Some(p)) => {
                format!("{}://{host}:{p}", path.name())
            }
            _ => host.to_string(),
        }
    }
}

/// Replaces each `${dotted.path}` with the config's value there.
pub fn substitute(text: &str, config: &Value) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`${{` without a closing `}}` in `{text}`"))?;
        let path = after[..end].trim();
        let path = path.strip_prefix("config.").unwrap_or(path);
        let mut value = config;
        for name in path.split('.') {
            value = value
                .get(name)
                .ok_or_else(|| format!("the config has no value at `{path}`"))?;
        }
        match value {
            Value::String(s) => out.push_str(s),
            Value::Number(n) => out.push_str(&n.to_string()),
            other => {
                return Err(format!(
                    "the config value at `{path}` is {other}, not a string or number"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Whether an address is reachable on the public internet. Loopback, private,
/// link-local, shared (CGNAT), multicast, documentation, benchmarking and
/// reserved ranges are not; IPv4-mapped and NAT64 IPv6 addresses are judged
/// by the IPv4 address they carry.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible and other reserved
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(entries: &[&str], config: Value) -> Policy {
        Policy::from_entries(
            &entries.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            &config,
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_grammar_of_entries() {
        let p = policy(
            &[
                "api.vendor.com",
                "*.cdn.vendor.com",
                "https://${region}.vendor.io",
                "tcp://db.vendor.net:5432",
                "${base_url}",
            ],
            json!({"region": "eu", "base_url": "http://127.0.0.1:8080/v1"}),
        );
        assert!(p.unusable.is_empty(), "{:?}", p.unusable);
        let public = [ip("93.184.216.34")];
        let name = |n: &str| Host::Name(n.into());
        assert_eq!(
            p.check(Path::Https, &name("api.vendor.com"), Some(443), &public),
            Ok(())
        );
        assert_eq!(
            p.check(Path::Tcp, &name("api.vendor.com"), Some(9999), &public),
            Ok(())
        );
        assert_eq!(
            p.check(Path::Https, &name("a.cdn.vendor.com"), Some(443), &public),
            Ok(())
        );
        assert_eq!(
            p.check(Path::Https, &name("cdn.vendor.com"), Some(443), &public),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            p.check(Path::Https, &name("evilcdn.vendor.com"), Some(443), &public),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            p.check(Path::Https, &name("eu.vendor.io"), Some(443), &public),
            Ok(())
        );
        assert_eq!(
            p.check(Path::Http, &name("eu.vendor.io"), Some(80), &public),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            p.check(Path::Https, &name("eu.vendor.io"), Some(8443), &public),
            Err(Refusal::NotAllowed)
        );
        assert_eq!(
            p.check(Path::Tcp, &name("db.vendor.net"), Some(5432), &public),
            Ok(())
        );
        assert_eq!(
            p.check(Path::Udp, &name("db.vendor.net"), Some(5432), &public),
            Err(Refusal::NotAllowed)
        );
        // The URL's loopback address is named, but by the spec: refused as
        // non-public (only the operator grants it).
        assert_eq!(
            p.check(Path::Http, &Host::Ip(ip("127.0.0.1")), Some(8080), &[]),
            Err(Refusal::NonPublic(ip("127.0.0.1")))
        );
        assert_eq!(
            p.check(Path::Http, &Host::Ip(ip("127.0.0.1")), Some(8081), &[]),
            Err(Refusal::NotAllowed)
        );
        // A name lookup is allowed for any host some entry names.
        assert_eq!(
            p.check(Path::Dns, &name("db.vendor.net"), None, &public),
            Ok(())
        );
        assert_eq!(
            p.check(Path::Dns, &name("evil.example"), None, &public),
            Err(Refusal::NotAllowed)
        );
    }

    #[test]
    fn dns_cannot_steer_a_name_to_a_private_address() {
        let p = policy(&["api.vendor.com", "*", "localhost:8080"], json!({}));
        let name = Host::Name("api.vendor.com".into());
        for private in [
            "10.0.0.5",
            "127.0.0.1",
            "169.254.169.254",
            "::1",
            "::ffff:10.0.0.1",
            "fd00::1",
            "64:ff9b::a00:1",
            "100.64.0.1",
        ] {
            assert_eq!(
                p.check(
                    Path::Https,
                    &name,
                    Some(443),
                    &[ip("93.184.216.34"), ip(private)]
                ),
                Err(Refusal::NonPublic(ip(private))),
                "{private}"
            );
        }
        // `*` means any public host: not a private literal.
        assert_eq!(
            p.check(Path::Tcp, &Host::Ip(ip("192.168.1.1")), Some(22), &[]),
            Err(Refusal::NonPublic(ip("192.168.1.1")))
        );
        // The spec naming localhost grants nothing non-public.
        assert_eq!(
            p.check(
                Path::Http,
                &Host::Name("localhost".into()),
                Some(8080),
                &[ip("127.0.0.1")]
            ),
            Err(Refusal::NonPublic(ip("127.0.0.1")))
        );
        // An IPv4-mapped form of an operator's literal is the same address.
        let q = Policy::from_operator(&["tcp://127.0.0.1:9000".into()], &json!({}));
        assert_eq!(
            q.check(
                Path::Tcp,
                &Host::Ip(ip("::ffff:127.0.0.1")),
                Some(9000),
                &[]
            ),
            Ok(())
        );
        assert!(is_public(ip("8.8.8.8")) && is_public(ip("2606:4700::1111")));
    }

    #[test]
    fn only_the_operator_grants_non_public_addresses() {
        let config = json!({"base_url": "http://169.254.169.254/latest", "host": "10.0.0.7"});
        // A spec (the tenant's) naming loopback, metadata and private
        // addresses, literally or through config values, grants none of them.
        let spec = policy(
            &[
                "tcp://127.0.0.1:*",
                "http://169.254.169.254",
                "${base_url}",
                "tcp://${host}:5432",
                "localhost",
                "http://[::1]:8080",
            ],
            config.clone(),
        );
        for (path, host, port) in [
            (Path::Tcp, "127.0.0.1", 5432),
            (Path::Http, "169.254.169.254", 80),
            (Path::Tcp, "10.0.0.7", 5432),
            (Path::Http, "::1", 8080),
        ] {
            let h = Host::parse(host);
            assert_eq!(
                spec.check(path, &h, Some(port), &[]),
                Err(Refusal::NonPublic(ip(host))),
                "{host}"
            );
        }
        // The operator's entries do, exactly those.
        let mut operator = spec.clone();
        operator.entries.extend(
            Policy::from_operator(
                &["tcp://127.0.0.1:5432".into(), "${base_url}".into()],
                &config,
            )
            .entries,
        );
        assert_eq!(
            operator.check(Path::Tcp, &Host::parse("127.0.0.1"), Some(5432), &[]),
            Ok(())
        );
        assert_eq!(
            operator.check(Path::Http, &Host::parse("169.254.169.254"), Some(80), &[]),
            Ok(())
        );
        assert_eq!(
            operator.check(Path::Tcp, &Host::parse("127.0.0.1"), Some(5433), &[]),
            Err(Refusal::NonPublic(ip("127.0.0.1")))
        );
        // A wildcard of the operator's is still public hosts only.
        let any = Policy::from_operator(&["*".into()], &config);
        assert_eq!(
            any.check(Path::Tcp, &Host::parse("10.1.1.1"), Some(22), &[]),
            Err(Refusal::NonPublic(ip("10.1.1.1")))
        );
    }

    #[test]
    fn bad_entries_and_missing_config_values_are_unusable_with_why() {
        let p = policy(
            &[
                "ftp://x.com",
                "${missing.key}",
                "a*b.com",
                "[::1",
                "host:port",
            ],
            json!({}),
        );
        assert!(p.entries.is_empty());
        let all = p.unusable.join("\n");
        for says in [
            "unknown scheme `ftp`",
            "the config has no value at `missing.key`",
            "`*` stands only",
            "closed with `]`",
            "`port` is not a port",
        ] {
            assert!(all.contains(says), "{says}: {all}");
        }
    }

    #[test]
    fn the_test_configuration_only_narrows() {
        let mut p = policy(&["api.vendor.com", "*.vendor.io"], json!({}));
        p.narrow(&["api.vendor.com".into()], &json!({})).unwrap();
        assert_eq!(p.entries.len(), 1);
        let e = p.narrow(&["evil.com".into()], &json!({})).unwrap_err();
        assert!(e.contains("may only narrow"), "{e}");
    }

    #[test]
    fn suggestions_name_the_entry_to_add() {
        let h = Host::Name("api.x.com".into());
        assert_eq!(
            Policy::suggestion(Path::Https, &h, Some(443)),
            "https://api.x.com"
        );
        assert_eq!(
            Policy::suggestion(Path::Tcp, &Host::Ip(ip("127.0.0.1")), Some(5432)),
            "tcp://127.0.0.1:5432"
        );
        assert_eq!(Policy::suggestion(Path::Dns, &h, None), "api.x.com");
    }
}
