//! A catalog naming an unknown stream is read silently. Caught by
//! basic_read/unknown_stream_error.
//!
//! ctest: fails basic_read/unknown_stream_error
//! ctest: says the read ended silently
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Silent;
impl Defect for Silent {
    fn catalog(mut catalog: ConfiguredCatalog) -> ConfiguredCatalog {
        catalog
            .streams
            .retain(|s| ["users", "products", "purchases"].contains(&s.name.as_str()));
        catalog
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Silent>);
