//! One `products` record is not JSON. Caught by basic_read/records_match_schema.
//!
//! ctest: fails basic_read/records_match_schema
//! ctest: says stream `products` is not JSON
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct NotJson;
impl Defect for NotJson {
    fn messages(messages: Messages) -> Messages {
        let mut first = true;
        Box::new(messages.map(move |m| match m {
            Ok(Message::Record {
                stream, emitted_at, ..
            }) if stream == "products" && first => {
                first = false;
                Ok(Message::Record {
                    stream,
                    data: "{id: 1, make: 'Mazda'}".into(),
                    emitted_at,
                })
            }
            other => other,
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NotJson>);
