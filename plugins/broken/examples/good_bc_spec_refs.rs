//! Good, as a previous version: `count` lives in `definitions` behind a
//! `$ref`, and an optional `start_date` has the `date-time` format. Released
//! again as good-bc-spec-inline (the same fields, written inline), nothing
//! breaks (host/tests/integration/backward_compatibility.rs).
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct Refs;
impl Defect for Refs {
    fn spec(mut spec: Spec) -> Spec {
        let s = &mut spec.connection_specification;
        s["definitions"] = json!({"count": s["properties"]["count"].clone()});
        s["properties"]["count"] = json!({"$ref": "#/definitions/count"});
        s["properties"]["start_date"] = json!({"type": "string", "format": "date-time"});
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Refs>);
