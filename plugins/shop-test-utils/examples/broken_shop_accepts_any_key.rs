//! source-shop whose `check` accepts any key without asking the API: the
//! scenario `auth_invalid_password` (a refused key is a failed check) catches it.
use shop_test_utils::ctest_sdk::prelude::*;

pub struct AcceptsAnyKey;

impl shop_test_utils::ShopDefect for AcceptsAnyKey {
    fn check(_config: shop::Config) -> Result<CheckOutcome, Error> {
        Ok(CheckOutcome::Succeeded)
    }
}

shop_test_utils::ctest_sdk::export_connector!(shop_test_utils::ShopWith<AcceptsAnyKey>);
