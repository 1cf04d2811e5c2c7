//! Reports success without writing: it answers with the row and a made-up
//! id. Caught by write_back/incremental_after_write.
use shop_test_utils::ctest_sdk::prelude::*;
use shop_test_utils::{ShopWriter, WriteDefect};

struct NoWrite;
impl WriteDefect for NoWrite {
    fn post(_config: &shop::Config, row: &serde_json::Value) -> Result<serde_json::Value, Error> {
        let mut created = row.clone();
        created["id"] = 424242.into();
        created["updated_at"] = "2026-01-01T00:00:00Z".into();
        Ok(created)
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<NoWrite>);
