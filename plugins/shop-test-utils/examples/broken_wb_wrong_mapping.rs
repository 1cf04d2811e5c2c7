//! The column mapping says a customer's email is in `name`. Caught by
//! write_back/incremental_after_write.
use shop_test_utils::{ShopWriter, WriteDefect};

struct WrongMapping;
impl WriteDefect for WrongMapping {
    fn mapping() -> Vec<(String, String)> {
        vec![("id".into(), "id".into()), ("email".into(), "name".into())]
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<WrongMapping>);
