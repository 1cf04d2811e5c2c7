//! Offers `invoices`, whose ingestion type is `cdc` (not `cdc-with-deletes`),
//! as deletable. Caught by write_back/tables_discovered.
use shop_test_utils::{ShopWriter, WriteDefect};

struct DeletesNotCdc;
impl WriteDefect for DeletesNotCdc {
    fn deletable_tables() -> Vec<String> {
        vec!["invoices".into(), "customers".into()]
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<DeletesNotCdc>);
