//! A connector that also imports an interface ctest does not provide
//! (`acme:vault/secrets`). `ctest run` must refuse to load it with exit code 2,
//! naming the import.
//!
//! ctest: tested-in host/tests/integration/user_errors.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

mod vault {
    wit_bindgen::generate!({
        inline: r#"
            package acme:vault@1.0.0;
            interface secrets {
                fetch: func(name: string) -> string;
            }
            world uses-vault {
                import secrets;
            }
        "#,
    });
}

struct UsesVault;
impl Defect for UsesVault {
    fn spec(mut spec: Spec) -> Spec {
        spec.documentation_url = Some(vault::acme::vault::secrets::fetch("docs"));
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<UsesVault>);
