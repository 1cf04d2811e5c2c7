//! Deletes without a trace (`?hard=true`), so no read can surface the
//! delete. Caught by write_back/delete_and_read_deletes.
use shop_test_utils::{ShopWriter, WriteDefect};

struct DeleteNotSurfaced;
impl WriteDefect for DeleteNotSurfaced {
    fn delete_path(id: u64) -> String {
        format!("/v1/customers/{id}?hard=true")
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<DeleteNotSurfaced>);
