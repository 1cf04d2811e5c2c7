//! connector_attributes: what a connector declares about itself that its users
//! (and a marketplace) rely on: the hosts it reaches, and a primary key on
//! every stream so that records can be told apart.

use super::{Run, Verdict, verdict};

const SUITE: &str = "connector_attributes";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: &["allowed_hosts_declared", "primary_keys_defined"],
    input_keys: &["streams_without_primary_key"],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: false,
    reads_records: false,
    check_set: super::no_set_checks,
    strict_input: None,
    reports: super::always_reported,
    run: |run, _| run_suite(run),
};

fn run_suite(run: &mut Run<'_>) {
    let hosts = run.facts.spec.as_ref().map(|s| s.raw.allowed_hosts.clone());
    let network_error = run.network_error.clone();
    run.test(SUITE, "allowed_hosts_declared", |_| match hosts {
        None => Verdict::Skip("`spec` did not return a specification".into()),
        Some(Some(_)) => match network_error {
            None => Verdict::Pass,
            Some(e) => Verdict::fail(format!(
                "expected the test configuration's `allowed_hosts` to narrow the spec's; {e}\n\
                 fix: list only entries of the spec's `allowed-hosts` (the plugin is allowed no host until then)"
            )),
        },
        Some(None) => Verdict::fail(
            "expected the spec to declare the hosts the connector reaches (`allowed-hosts`), or explicitly none; it declares nothing\n\
             fix: in the Rust SDK, `Spec::new(...).allowed_hosts(&[\"api.vendor.com\"])`, or `.no_network()` for none",
        ),
    });

    let listed = run.set.set.streams_without_primary_key.clone();
    let keys: Option<Vec<(String, Vec<Vec<String>>)>> = run.facts.catalog.as_ref().map(|streams| {
        streams
            .iter()
            .map(|s| {
                (
                    s.info.name.clone(),
                    s.info.source_defined_primary_key.clone(),
                )
            })
            .collect()
    });
    run.test(SUITE, "primary_keys_defined", |_| {
        let Some(keys) = keys else {
            return Verdict::Skip("discovery did not return a catalog".into());
        };
        let mut problems: Vec<String> = keys
            .iter()
            .filter(|(name, key)| key.is_empty() && !listed.iter().any(|l| l.name == *name))
            .map(|(name, _)| format!("stream `{name}` has no primary key"))
            .collect();
        // A stale entry hides nothing today but would hide a regression later.
        for entry in &listed {
            match keys.iter().find(|(name, _)| *name == entry.name) {
                None => problems.push(format!(
                    "streams_without_primary_key lists `{}`, which discovery does not return",
                    entry.name
                )),
                Some((_, key)) if !key.is_empty() => problems.push(format!(
                    "streams_without_primary_key lists `{}`, which has the primary key {}",
                    entry.name,
                    key.iter().map(|p| p.join(".")).collect::<Vec<_>>().join(", ")
                )),
                Some(_) => {}
            }
        }
        verdict(
            problems,
            "expected every stream to define a primary key, unless the test configuration lists it under `streams_without_primary_key` with a reason",
            "set the stream's `source-defined-primary-key` in `discover`, or list the stream with a `bypass_reason`; remove entries that no longer apply",
        )
    });
}
