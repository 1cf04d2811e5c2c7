//! Writes customers without the run's tag: a run cannot tell its rows from
//! real data (nor delete only its own). Caught by write_back/write_to_source
//! (and the tests that write through it).
use shop_test_utils::{ShopWriter, WriteDefect};

struct Untagged;
impl WriteDefect for Untagged {
    fn row(mut row: serde_json::Value) -> serde_json::Value {
        row["name"] = "Test customer".into();
        row["email"] = "test.customer@example.com".into();
        row
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<Untagged>);
