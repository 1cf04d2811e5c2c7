//! Good: a spec of shapes that look suspicious but are right. An integer and
//! an enum named like secrets, a marked secret with a placeholder default, a
//! `oneOf` whose branches only require the parent's properties, a `$ref`'d
//! definition with a valid default, and formatted examples that hold. Every
//! spec test must pass (host/tests/integration/verdicts.rs).
//!
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct Shapes;
impl Defect for Shapes {
    fn spec(mut spec: Spec) -> Spec {
        let s = &mut spec.connection_specification;
        s["properties"]["max_tokens"] = json!({"type": "integer", "default": 4096});
        s["properties"]["credentials_mode"] =
            json!({"type": "string", "enum": ["oauth", "api_key"], "default": "oauth"});
        s["properties"]["privateKey"] = json!({"type": "string", "secret": true, "default": "", "examples": ["<your private key>"]});
        s["properties"]["auth"] = json!({
            "type": "object",
            "properties": {"user": {"type": "string"}, "token": {"type": "string", "airbyte_secret": true}},
            "oneOf": [{"required": ["user"]}, {"required": ["token"]}]
        });
        s["properties"]["window"] = json!({"$ref": "#/definitions/window"});
        s["definitions"] = json!({"window": {"type": "integer", "minimum": 1, "default": 7}});
        s["properties"]["start_date"] = json!({
            "type": "string", "format": "date-time", "examples": ["2024-01-01T00:00:00Z"]
        });
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Shapes>);
