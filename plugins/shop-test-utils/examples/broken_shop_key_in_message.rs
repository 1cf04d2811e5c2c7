//! source-shop whose failed check repeats the refused key to the user: the
//! scenario `auth_invalid_password` (the message does not hold the key)
//! catches it, and the report masks the key, a secret variable.
use shop_test_utils::ctest_sdk::prelude::*;

struct KeyInMessage;

impl Connector for KeyInMessage {
    type Config = shop::Config;
    fn spec() -> Spec {
        shop::Shop::spec()
    }
    fn check(config: shop::Config) -> Result<CheckOutcome, Error> {
        let key = config.api_key.clone();
        Ok(match shop::Shop::check(config)? {
            CheckOutcome::Failed(m) => CheckOutcome::Failed(format!("{m} (the key was {key})")),
            ok => ok,
        })
    }
    fn discover(config: shop::Config) -> Result<Vec<Stream>, Error> {
        shop::Shop::discover(config)
    }
    fn read(
        config: shop::Config,
        catalog: ConfiguredCatalog,
        state: State,
    ) -> Result<Messages, Error> {
        shop::Shop::read(config, catalog, state)
    }
}

shop_test_utils::ctest_sdk::export_connector!(KeyInMessage);
