//! The read panics after 500 records. Caught by basic_read/read, with the panic's message.
//!
//! ctest: fails basic_read/read
//! ctest: says trapped during `read (reader.next)`
//! ctest: says index out of range while paging users
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Panics;
impl Defect for Panics {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.enumerate().map(|(i, m)| {
            if i == 500 {
                panic!("index out of range while paging users");
            }
            m
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Panics>);
