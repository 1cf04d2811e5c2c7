//! source-shop whose failed check repeats the refused key to the user: the
//! scenario `auth_invalid_password` (the message does not hold the key)
//! catches it, and the report masks the key, a secret variable.
use shop_test_utils::ctest_sdk::prelude::*;

pub struct KeyInMessage;

impl shop_test_utils::ShopDefect for KeyInMessage {
    fn check(config: shop::Config) -> Result<CheckOutcome, Error> {
        let key = config.api_key.clone();
        Ok(match <shop::Shop as Connector>::check(config)? {
            CheckOutcome::Failed(m) => CheckOutcome::Failed(format!("{m} (the key was {key})")),
            ok => ok,
        })
    }
}

shop_test_utils::ctest_sdk::export_connector!(shop_test_utils::ShopWith<KeyInMessage>);
