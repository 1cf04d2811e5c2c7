//! source-shop whose reads ignore the state they are given, reading
//! everything again: the scenario `read_from_state_returns_only_later_invoices`
//! catches it.
use shop_test_utils::ctest_sdk::prelude::*;

pub struct IgnoresState;

impl shop_test_utils::ShopDefect for IgnoresState {
    fn state(_state: State) -> State {
        State::default()
    }
}

shop_test_utils::ctest_sdk::export_connector!(shop_test_utils::ShopWith<IgnoresState>);
