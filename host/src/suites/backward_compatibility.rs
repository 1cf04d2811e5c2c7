//! backward_compatibility (with `--previous OLD.wasm`): the new version of a
//! connector breaks neither the configs nor the catalogs its users have. Each
//! kind of breaking change is its own test, whose message says what changed.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Run, Verdict, verdict};
use crate::compat;
use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::sandbox::{Component, ConnectorError};
use crate::schema;

const SUITE: &str = "backward_compatibility";

/// The suite, as the registry ([`super::REGISTRY`]) holds it.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: TESTS,
    input_keys: &[],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: false,
    reads_records: false,
    check_set: super::no_set_checks,
    strict_input: None,
    // Opt-in: reported with a previous version, or to say why not when
    // strict or bypassed.
    reports: |run, _| run.strict || run.bypassed || run.components.is_none_or(|c| c.previous),
    run: |run, peers| run_suite(run, peers.previous),
};
const TESTS: &[&str] = &[
    "spec_required_fields",
    "spec_fields_kept",
    "spec_types_kept",
    "spec_defaults_kept",
    "previous_configs_still_valid",
    "catalog_streams_kept",
    "catalog_fields_kept",
    "catalog_cursors_kept",
    "catalog_sync_modes_kept",
    "catalog_primary_keys_kept",
    "catalog_ingestion_types_kept",
];

/// What the previous version declares.
struct Previous {
    /// The version its spec declares.
    version: String,
    spec: Value,
    catalog: Vec<wit::StreamInfo>,
}

fn run_suite(run: &mut Run<'_>, previous: Option<(&Component, &str)>) {
    if !TESTS.iter().any(|t| run.selected(SUITE, t)) {
        return;
    }
    if run.bypass_suite.is_some() {
        run.skip_all(SUITE, TESTS, "bypassed");
        return;
    }
    // The suite is opt-in: without a previous version it does not run, but a
    // strict run (which declared it) says why it did not.
    let Some((component, name)) = previous else {
        if run.options.strict {
            run.skip_all(
                SUITE,
                TESTS,
                "no previous version given (pass it with --previous OLD.wasm)",
            );
        }
        return;
    };
    let previous = match load_previous(run, component) {
        Ok(p) => p,
        Err(e) => {
            let reason = format!("the previous version {name} could not be read: {e}");
            for t in TESTS {
                run.finish(
                    SUITE,
                    t,
                    Verdict::fail(reason.clone()),
                    Default::default(),
                    Vec::new(),
                    Default::default(),
                );
            }
            return;
        }
    };
    // Messages name the versions, not the previous file's path.
    let new_version = run
        .facts
        .spec
        .as_ref()
        .map_or_else(|| "?".to_string(), |s| s.raw.version.clone());
    let name = &format!("version {}; this is {new_version}", previous.version);
    let new_spec = run
        .facts
        .spec
        .as_ref()
        .and_then(|s| s.schema.as_ref())
        .map(compat::resolve_local_refs);
    type SpecCheck = fn(&Value, &Value) -> Vec<String>;
    let spec_tests: [(&str, SpecCheck, &str, &str); 4] = [
        (
            "spec_required_fields",
            compat::added_required,
            "expected no field to become required",
            "make the new field optional with a default, or release it as a major version",
        ),
        (
            "spec_fields_kept",
            compat::removed_properties,
            "expected every config field of the previous version to remain",
            "keep the old field (deprecated) next to the new one, or release a major version",
        ),
        (
            "spec_types_kept",
            compat::narrowed_types,
            "expected every config field to accept at least the values it accepted before",
            "widen the type or enum back, or release a major version",
        ),
        (
            "spec_defaults_kept",
            compat::changed_defaults,
            "expected config defaults to stay the same",
            "keep the old default; a config that relies on it would change meaning",
        ),
    ];
    for (test, find, expected, fix) in spec_tests {
        run.test(SUITE, test, |_| match &new_spec {
            None => Verdict::Skip("the new version's spec is not available".into()),
            Some(new) => verdict(
                find(&previous.spec, new),
                &format!("{expected} (compared with {name})"),
                fix,
            ),
        });
    }
    let user_config = run.config.clone();
    run.test(SUITE, "previous_configs_still_valid", |_| {
        let Some(new) = &new_spec else {
            return Verdict::Skip("the new version's spec is not available".into());
        };
        let Ok(validator) = crate::schema::validator(new) else {
            return Verdict::Skip("the new version's spec is not a valid JSON Schema".into());
        };
        // The sample stands for a user's config only if the previous spec
        // accepts it (formats included).
        let sample = compat::sample_config(&previous.spec);
        let previous_accepts = |config: &Value| {
            crate::schema::record_validator(&previous.spec).is_ok_and(|v| v.is_valid(config))
        };
        let mut configs = Vec::new();
        if previous_accepts(&sample) {
            configs.push(("a config built from the previous spec's defaults and types".to_string(), sample));
        }
        if previous_accepts(&user_config) {
            configs.push(("the given config".to_string(), user_config.clone()));
        }
        let problems: Vec<String> = configs
            .iter()
            .filter_map(|(what, config)| {
                let errors: Vec<String> = validator
                    .iter_errors(config)
                    .take(3)
                    .map(|e| format!("at `{}`: {}", schema::pointer_or_root(e.instance_path().as_str()), e.masked()))
                    .collect();
                (!errors.is_empty()).then(|| format!("{what}, valid for the previous version, is refused: {}", errors.join("; ")))
            })
            .collect();
        verdict(
            problems,
            &format!("expected configs valid for the previous version ({name}) to stay valid"),
            "accept the old configs (optional fields, defaults, wider types), or release a major version",
        )
    });

    let streams = run.facts.catalog.clone();
    let new_catalog: Option<BTreeMap<&str, &wit::StreamInfo>> = streams.as_ref().map(|streams| {
        streams
            .iter()
            .map(|s| (s.info.name.as_str(), &s.info))
            .collect()
    });
    let old_catalog: BTreeMap<&str, &wit::StreamInfo> = previous
        .catalog
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    type StreamCheck = fn(&wit::StreamInfo, &wit::StreamInfo) -> Vec<String>;
    let catalog_tests: [(&str, StreamCheck, &str, &str); 5] = [
        (
            "catalog_fields_kept",
            stream_fields,
            "expected every field of each stream to remain, with a type that accepts its old values",
            "keep the field and its type; add new fields instead of changing old ones",
        ),
        (
            "catalog_cursors_kept",
            |o, n| {
                let mut changes: Vec<String> = (o.default_cursor_field != n.default_cursor_field)
                    .then(|| {
                        format!(
                            "stream `{}`: the cursor changed from {:?} to {:?}",
                            n.name, o.default_cursor_field, n.default_cursor_field
                        )
                    })
                    .into_iter()
                    .collect();
                // Who chooses the cursor: taken from the user, a connection's
                // chosen cursor is no longer honoured.
                if !o.source_defined_cursor && n.source_defined_cursor {
                    changes.push(format!(
                        "stream `{}`: the source now chooses the cursor ({:?}), which was the user's to choose: a connection that chose another loses it",
                        n.name, n.default_cursor_field
                    ));
                }
                changes
            },
            "expected each stream's cursor, and who chooses it, to stay the same",
            "keep the cursor: saved states hold its values; and leave a user-chosen cursor to the user",
        ),
        (
            "catalog_sync_modes_kept",
            |o, n| {
                o.supported_sync_modes
                    .iter()
                    .filter(|m| !n.supported_sync_modes.contains(m))
                    .map(|m| {
                        format!(
                            "stream `{}`: the sync mode `{}` is no longer supported",
                            n.name,
                            match m {
                                wit::SyncMode::FullRefresh => "full-refresh",
                                wit::SyncMode::Incremental => "incremental",
                            }
                        )
                    })
                    .collect()
            },
            "expected each stream to keep the sync modes it supported",
            "keep supporting the mode: existing connections use it",
        ),
        (
            "catalog_primary_keys_kept",
            |o, n| {
                (o.source_defined_primary_key != n.source_defined_primary_key)
                    .then(|| {
                        format!(
                            "stream `{}`: the primary key changed from {:?} to {:?}",
                            n.name, o.source_defined_primary_key, n.source_defined_primary_key
                        )
                    })
                    .into_iter()
                    .collect()
            },
            "expected each stream's primary key to stay the same",
            "keep the primary key: destinations deduplicate on it",
        ),
        (
            "catalog_ingestion_types_kept",
            |o, n| {
                (o.ingestion_type != n.ingestion_type)
                    .then(|| {
                        format!(
                            "stream `{}`: the ingestion type changed from `{}` to `{}`",
                            n.name,
                            super::ingestion_name(o.ingestion_type),
                            super::ingestion_name(n.ingestion_type)
                        )
                    })
                    .into_iter()
                    .collect()
            },
            "expected each stream's ingestion type to stay the same",
            "keep the ingestion type: destinations write a stream by it (appending, replacing, deduplicating by key, deleting)",
        ),
    ];
    run.test(SUITE, "catalog_streams_kept", |_| {
        let Some(new) = &new_catalog else {
            return Verdict::Skip("the new version's catalog is not available".into());
        };
        let removed: Vec<String> = old_catalog
            .keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| {
                let added: Vec<String> = new
                    .keys()
                    .filter(|n| !old_catalog.contains_key(*n))
                    .map(|n| format!("`{n}`"))
                    .collect();
                if added.is_empty() {
                    format!("stream `{k}` was removed or renamed")
                } else {
                    format!(
                        "stream `{k}` was removed or renamed (new streams: {})",
                        added.join(", ")
                    )
                }
            })
            .collect();
        verdict(
            removed,
            &format!("expected every stream of the previous version ({name}) to remain"),
            "keep the stream (deprecated) next to its successor, or release a major version",
        )
    });
    for (test, check, expected, fix) in catalog_tests {
        run.test(SUITE, test, |_| {
            let Some(new) = &new_catalog else {
                return Verdict::Skip("the new version's catalog is not available".into());
            };
            let problems: Vec<String> = old_catalog
                .iter()
                .filter_map(|(k, o)| Some(check(o, new.get(k)?)))
                .flatten()
                .collect();
            verdict(problems, &format!("{expected} (compared with {name})"), fix)
        });
    }
    drop(new_catalog);
}

fn stream_fields(old: &wit::StreamInfo, new: &wit::StreamInfo) -> Vec<String> {
    let (Ok(o), Ok(n)) = (
        serde_json::from_str::<Value>(&old.json_schema),
        serde_json::from_str::<Value>(&new.json_schema),
    ) else {
        return Vec::new();
    };
    let (o, n) = (
        compat::resolve_local_refs(&o),
        compat::resolve_local_refs(&n),
    );
    compat::removed_properties(&o, &n)
        .into_iter()
        .chain(compat::narrowed_types(&o, &n))
        .chain(compat::changed_field_types(&o, &n))
        .map(|p| format!("stream `{}`: {p}", new.name))
        .collect()
}

fn load_previous(run: &Run<'_>, component: &Component) -> Result<Previous, String> {
    let deadline = std::time::Instant::now() + run.options.timeouts.discovery;
    let mut plugin = component
        .instantiate(
            &run.options.limits,
            deadline,
            &run.options.network.for_test(
                "backward_compatibility/previous",
                run.policy.clone(),
                run.redactor.clone(),
                Some(std::sync::Arc::new(crate::network::RecordedUnder::new(
                    &component.digest,
                    &run.config,
                    &run.redactor,
                    &run.suffix,
                ))),
            ),
        )
        .map_err(|e| e.to_string())?;
    let raw = plugin.spec().map_err(|e| e.to_string())?;
    let spec: Value = serde_json::from_str(&raw.connection_specification)
        .map_err(|e| format!("its connection specification is not JSON: {e}"))?;
    // The previous version reads the config as its users gave it.
    let catalog = match plugin
        .discover(&run.config_text)
        .map_err(|e| e.to_string())?
    {
        Ok(c) => c.streams,
        Err(e) => return Err(format!("`discover` failed: {}", ConnectorError::from(e))),
    };
    Ok(Previous {
        version: raw.version,
        spec: compat::resolve_local_refs(&spec),
        catalog,
    })
}
