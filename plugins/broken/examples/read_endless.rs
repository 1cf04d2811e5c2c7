//! The read never ends: after its first record it repeats it forever. Caught by
//! basic_read/read, at the message count limit.
//!
//! ctest: fails basic_read/read
//! ctest: says more than 20000 messages
//! ctest: says --max-messages
//! ctest: args --max-messages 20000
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Endless;
impl Defect for Endless {
    fn messages(mut messages: Messages) -> Messages {
        let mut repeat: Option<Message> = None;
        Box::new(std::iter::from_fn(move || {
            if let Some(record) = &repeat {
                return Some(Ok(record.clone()));
            }
            let next = messages.next()?;
            if let Ok(record @ Message::Record { .. }) = &next {
                repeat = Some(record.clone());
            }
            Some(next)
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Endless>);
