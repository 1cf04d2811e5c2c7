//! Built for another version of the contract (ctest:connector@0.0.9). `ctest run`
//! must refuse to load it with exit code 2, naming both versions.
//!
//! ctest: tested-in host/tests/integration/user_errors.rs
wit_bindgen::generate!({
    inline: r#"
        package ctest:connector@0.0.9;
        interface source {
            spec: func() -> string;
        }
        world connector {
            export source;
        }
    "#,
});

struct Old;
impl exports::ctest::connector::source::Guest for Old {
    fn spec() -> String {
        "{}".into()
    }
}
export!(Old);
