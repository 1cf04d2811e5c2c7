//! A component that exports something other than the connector's `source`
//! interface. `ctest run` must refuse to load it with exit code 2.
//!
//! ctest: tested-in host/tests/integration/user_errors.rs
wit_bindgen::generate!({
    inline: r#"
        package acme:widgets@1.0.0;
        interface greeter {
            greet: func(name: string) -> string;
        }
        world widget {
            export greeter;
        }
    "#,
});

struct Widget;
impl exports::acme::widgets::greeter::Guest for Widget {
    fn greet(name: String) -> String {
        format!("hello {name}")
    }
}
export!(Widget);
