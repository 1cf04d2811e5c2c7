//! The read never ends. Caught by basic_read/read, at the message count limit.
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Endless;
impl Defect for Endless {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.cycle_forever())
    }
}

trait CycleForever {
    fn cycle_forever(self) -> Messages;
}
impl CycleForever for Messages {
    fn cycle_forever(self) -> Messages {
        // Repeat the first record of the read forever.
        let mut first = None;
        let mut inner = self;
        Box::new(std::iter::from_fn(move || {
            if first.is_none() {
                while let Some(m) = inner.next() {
                    if let Ok(Message::Record { .. }) = &m {
                        first = Some(m);
                        break;
                    }
                    return Some(m);
                }
            }
            first.clone()
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Endless>);
