//! Fails to write, silently: it answers with the first existing customer
//! (dressed in the row's tagged fields) instead of the one it should have
//! created, so its delete then removes a real customer. Caught by
//! write_back/incremental_after_write and write_back/delete_and_read_deletes.
use shop_test_utils::ctest_sdk::prelude::*;
use shop_test_utils::{ShopWriter, WriteDefect};

struct ExistingRow;
impl WriteDefect for ExistingRow {
    fn post(config: &shop::Config, row: &serde_json::Value) -> Result<serde_json::Value, Error> {
        let response = shop::get(config, "/v1/customers?page_size=1")?;
        let page: serde_json::Value = response.json()?;
        let mut existing = page["data"][0].clone();
        for field in ["name", "email", "plan"] {
            existing[field] = row[field].clone();
        }
        Ok(existing)
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<ExistingRow>);
