//! source-shop's test-utils as a component of their own (the `test-utils`
//! world), given to ctest with `--test-utils`.
shop_test_utils::ctest_sdk::export_write_back!(
    shop_test_utils::ShopWriter<shop_test_utils::Correct>
);
