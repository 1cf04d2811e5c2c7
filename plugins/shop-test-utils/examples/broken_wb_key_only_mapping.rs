//! The column mapping maps only the key, `id`: the read after the write
//! compares nothing else, so a row that came back with another name or
//! email would pass. Caught by write_back/write_to_source and
//! write_back/incremental_after_write.
use shop_test_utils::{ShopWriter, WriteDefect};

struct KeyOnly;
impl WriteDefect for KeyOnly {
    fn mapping() -> Vec<(String, String)> {
        vec![("id".into(), "id".into())]
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<KeyOnly>);
