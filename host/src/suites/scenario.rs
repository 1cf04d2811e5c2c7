//! scenario: the connector's own tests, declared in scenario files (see
//! [`crate::scenarios`]). Each case is a test `scenario/<file>/<case>`;
//! the cases marked `parallel` run at the same time, after the others.

use std::time::Duration;

use super::{Run, TestCtx, Verdict};
use crate::redact::Redactor;
use crate::sandbox::Component;
use crate::scenarios::run::{CaseRun, configs_of, run_case};

const SUITE: &str = crate::scenarios::SUITE;

/// The suite, as the registry ([`super::REGISTRY`]) holds it. Its tests are
/// the cases of the scenario files, known once they are read.
pub(super) const ENTRY: super::Suite = super::Suite {
    name: SUITE,
    tests: &[],
    input_keys: &[],
    time_limit: super::TimeLimit::Read,
    declared_when_strict: false,
    reads_records: false,
    check_set: super::no_set_checks,
    strict_input: None,
    reports: super::always_reported,
    run: |run, peers| run_suite(run, peers.test_utils),
};

fn run_suite(run: &mut Run<'_>, test_utils: Option<&Component>) {
    let scenarios = run.options.scenarios.clone();
    let names = scenarios.names();
    if !names.iter().any(|n| run.selected(SUITE, n)) {
        return;
    }
    if let Some(reason) = run.bypass_suite.clone() {
        let selected: Vec<&String> = names.iter().filter(|n| run.selected(SUITE, n)).collect();
        for name in selected {
            run.finish(
                SUITE,
                name,
                Verdict::Skip(format!("bypassed by the test configuration: {reason}")),
                Duration::ZERO,
                Vec::new(),
                Default::default(),
            );
        }
        return;
    }
    // What the scenarios may hold that is secret is masked from the start:
    // variables marked secret, and the configs their steps run with.
    run.redactor
        .extend(Redactor::from_secrets(scenarios.secrets.clone()));
    let writer = test_utils.or(run.component.has_write_back().then_some(run.component));
    let schema = run.facts.spec.as_ref().and_then(|s| s.schema.clone());
    let tag = run.options.network.run_tag().to_string();
    // In replay, a scenario's writes go to its own cassette.
    let writes_refused = match run.options.network.mode() {
        crate::network::Mode::Replay => None,
        _ => run.options.writes_refused.clone(),
    };
    let config = run.config.clone();
    let mut serial = Vec::new();
    let mut parallel = Vec::new();
    for prepared in &scenarios.files {
        let loaded = &prepared.loaded;
        for case in &loaded.cases {
            let name = format!("{}/{}", loaded.stem, case.name);
            if !run.selected(SUITE, &name) {
                continue;
            }
            let case_run = CaseRun {
                loaded,
                case,
                config: &config,
                vars: &prepared.vars,
                writer,
                writes_refused: writes_refused.as_deref(),
            };
            for c in configs_of(&case_run, &tag) {
                run.redactor.extend(Redactor::new(&c, schema.as_ref()));
            }
            let scenario = &loaded.file.scenarios[case.scenario];
            let timeout = scenario.timeout_seconds.map(Duration::from_secs_f64);
            if scenario.parallel {
                parallel.push((name, timeout, case_run));
            } else {
                serial.push((name, timeout, case_run));
            }
        }
    }
    for (name, timeout, case_run) in serial {
        if let Some(reason) = run.bypassed(&name) {
            run.finish(
                SUITE,
                &name,
                Verdict::Skip(reason),
                Duration::ZERO,
                Vec::new(),
                Default::default(),
            );
            continue;
        }
        let mut begun = run.begin(SUITE, &name, timeout);
        let verdict = begun.run(|ctx: &mut TestCtx<'_>| run_case(ctx, &case_run));
        run.end(begun, verdict);
    }
    run.tests_in_parallel(
        SUITE,
        parallel
            .into_iter()
            .map(|(name, timeout, case_run)| {
                let body: Box<dyn Fn(&mut TestCtx<'_>) -> Verdict + Send + Sync + '_> =
                    Box::new(move |ctx| run_case(ctx, &case_run));
                (name, timeout, body)
            })
            .collect(),
    );
}
