//! `check` keeps the spec's types and required fields but not its bounds:
//! `count: 0` (the spec says `minimum: 1`) passes, and the read would find
//! nothing. Caught by connection/rejects_constraint_violations.
//!
//! ctest: fails connection/rejects_constraint_violations
//! ctest: says `check` succeeded for the config with `count` set to 0 (breaking its `minimum` 1); expected `failed`
//! ctest: says `check` succeeded for the config with `records_per_state` set to 0 (breaking its `minimum` 1)
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct IgnoresBounds;
impl Defect for IgnoresBounds {
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let typed = ["count", "seed", "records_per_state"]
            .iter()
            .all(|k| config.get(k).is_none_or(|v| v.as_u64().is_some()));
        Ok(match config.get("count") {
            None => CheckOutcome::Failed("`count` is required".into()),
            Some(_) if !typed => CheckOutcome::Failed(
                "`count`, `seed` and `records_per_state` are non-negative integers".into(),
            ),
            Some(_) => CheckOutcome::Succeeded,
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<IgnoresBounds>);
