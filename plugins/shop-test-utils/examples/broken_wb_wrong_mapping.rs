//! The column mapping says a customer's email is in `name`. Caught by
//! write_back/incremental_after_write.
use shop_test_utils::{ShopWriter, WriteDefect};

struct WrongMapping;
impl WriteDefect for WrongMapping {
    fn mapping() -> Vec<(String, String)> {
        [
            ("id", "id"),
            ("name", "name"),
            ("email", "name"),
            ("plan", "plan"),
            ("updated_at", "updated_at"),
        ]
        .map(|(f, p)| (f.into(), p.into()))
        .into()
    }
}
shop_test_utils::ctest_sdk::export_write_back!(ShopWriter<WrongMapping>);
