//! Writes its customers backdated to 2000, before any state's cursor, so an
//! incremental read never returns them. Caught by
//! write_back/incremental_after_write.
use shop_test_utils::{ShopWriter, WriteDefect};

struct RowNeverAppears;
impl WriteDefect for RowNeverAppears {
    fn row(mut row: serde_json::Value) -> serde_json::Value {
        row["updated_at"] = "2000-01-01T00:00:00Z".into();
        row
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<RowNeverAppears>);
