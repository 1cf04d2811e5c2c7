//! source-shop whose `check` accepts any key without asking the API: the
//! scenario `auth_invalid_password` (a refused key is a failed check) catches it.
use shop_test_utils::ctest_sdk::prelude::*;

struct AcceptsAnyKey;

impl Connector for AcceptsAnyKey {
    type Config = shop::Config;
    fn spec() -> Spec {
        shop::Shop::spec()
    }
    fn check(_config: shop::Config) -> Result<CheckOutcome, Error> {
        Ok(CheckOutcome::Succeeded)
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

shop_test_utils::ctest_sdk::export_connector!(AcceptsAnyKey);
