//! The `products` records come as one `records` batch whose third line holds
//! a byte that is not UTF-8. Caught by basic_read/read: a malformed message.
//!
//! ctest: fails basic_read/read
//! ctest: says the read broke the contract: a `records` batch of stream `products` is not UTF-8 at byte 34 (line 3, the record at index 2 of the batch)
//! ctest: says one record per line
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct BatchNotUtf8;
impl Defect for BatchNotUtf8 {
    fn messages(messages: Messages) -> Messages {
        let mut sent = false;
        Box::new(messages.filter_map(move |m| match m {
            Ok(Message::Record {
                stream, emitted_at, ..
            }) if stream == "products" => {
                if sent {
                    return None;
                }
                sent = true;
                let data = b"{\"id\":1}\n{\"id\":2}\n{\"id\":3,\"make\":\"\xff\"}\n".to_vec();
                Some(Ok(Message::Records {
                    stream,
                    data,
                    emitted_at,
                }))
            }
            other => Some(other),
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<BatchNotUtf8>);
