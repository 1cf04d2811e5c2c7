//! source-shop: the shop API connector (`plugins/shop`) as a component.
ctest_sdk::export_connector!(shop::Shop);
