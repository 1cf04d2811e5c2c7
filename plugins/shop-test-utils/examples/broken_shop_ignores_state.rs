//! source-shop whose reads ignore the state they are given, reading
//! everything again: the scenario `read_from_state_returns_only_later_invoices`
//! catches it.
use shop_test_utils::ctest_sdk::prelude::*;

struct IgnoresState;

impl Connector for IgnoresState {
    type Config = shop::Config;
    fn spec() -> Spec {
        shop::Shop::spec()
    }
    fn check(config: shop::Config) -> Result<CheckOutcome, Error> {
        shop::Shop::check(config)
    }
    fn discover(config: shop::Config) -> Result<Vec<Stream>, Error> {
        shop::Shop::discover(config)
    }
    fn read(
        config: shop::Config,
        catalog: ConfiguredCatalog,
        _state: State,
    ) -> Result<Messages, Error> {
        shop::Shop::read(config, catalog, State::default())
    }
}

shop_test_utils::ctest_sdk::export_connector!(IgnoresState);
