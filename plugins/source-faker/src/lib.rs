//! source-faker: the component. The connector itself is a plain Rust library,
//! `plugins/faker`, testable without wasm; exporting it takes one line.

ctest_sdk::export_connector!(faker::Faker);
