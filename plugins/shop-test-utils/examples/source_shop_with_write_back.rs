//! source-shop exporting its test-utils itself (the
//! `connector-with-write-back` world): no `--test-utils` needed.
shop_test_utils::ctest_sdk::export_connector!(shop::Shop);
shop_test_utils::ctest_sdk::export_write_back!(
    shop_test_utils::ShopWriter<shop_test_utils::Correct>
);
