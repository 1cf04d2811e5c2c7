//! Records for a stream the catalog does not configure. Caught by
//! basic_read/only_configured_streams.
//!
//! ctest: fails basic_read/only_configured_streams
//! ctest: says stream `audit_log`, which the catalog does not configure
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Unconfigured;
impl Defect for Unconfigured {
    fn messages(messages: Messages) -> Messages {
        let extra = (1..=3).map(|i| {
            Ok(Message::Record {
                stream: "audit_log".into(),
                data: format!("{{\"id\": {i}}}"),
                emitted_at: 0,
            })
        });
        Box::new(messages.chain(extra))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Unconfigured>);
