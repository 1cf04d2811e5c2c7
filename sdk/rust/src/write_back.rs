//! Test data written to the source, for ctest's write_back suite.

use serde::de::DeserializeOwned;

use crate::Error;

/// Rows written to (or deleted from) the source, and where each field must
/// appear in a record: (field of the row, dotted path in the record).
#[derive(Debug, Clone, Default)]
pub struct ChangedRows {
    pub rows: Vec<serde_json::Value>,
    pub column_mapping: Vec<(String, String)>,
}

/// Writes test data to the source for ctest's write-back suite. Export it from
/// a separate component with [`export_write_back!`] (given to ctest with
/// `--test-utils`), or from the connector itself by invoking both
/// [`export_connector!`] and [`export_write_back!`].
pub trait WriteBack: 'static {
    /// The connector's config (the same config ctest gives the connector).
    type Config: DeserializeOwned;

    /// The tables (stream names) rows can be written to.
    fn insertable_tables(config: &Self::Config) -> Result<Vec<String>, Error>;

    /// Generates `count` rows (naming them with `tag`, unique to the run),
    /// writes them to `table`, and returns them with their column mapping.
    fn write_rows(
        config: &Self::Config,
        table: &str,
        count: u32,
        tag: &str,
    ) -> Result<ChangedRows, Error>;

    /// The tables rows can be deleted from: streams of ingestion type
    /// `CdcWithDeletes`.
    fn deletable_tables(_config: &Self::Config) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }

    /// Deletes `count` rows of `table` (best written for the purpose first),
    /// returning them: at least their primary key, and its mapping.
    fn delete_rows(
        _config: &Self::Config,
        table: &str,
        _count: u32,
        _tag: &str,
    ) -> Result<ChangedRows, Error> {
        Err(Error::config(format!(
            "rows of `{table}` cannot be deleted"
        )))
    }
}

#[doc(hidden)]
pub mod __write_back {
    use super::*;
    pub use crate::write_back_bindings::exports::ctest::connector::write_back::{
        ChangedRows as WitChangedRows, Guest,
    };
    use crate::{__private, wit};

    fn config<W: WriteBack>(config: &str) -> Result<W::Config, wit::ConnectorError> {
        __private::install_panic_hook();
        serde_json::from_str(config)
            .map_err(|e| Error::config(format!("the config is not valid: {e}")).into())
    }

    fn rows(changed: ChangedRows) -> WitChangedRows {
        WitChangedRows {
            rows: changed.rows.iter().map(|r| r.to_string()).collect(),
            column_mapping: changed.column_mapping,
        }
    }

    pub fn insertable_tables<W: WriteBack>(c: String) -> Result<Vec<String>, wit::ConnectorError> {
        Ok(W::insertable_tables(&config::<W>(&c)?)?)
    }
    pub fn write_rows<W: WriteBack>(
        c: String,
        table: String,
        count: u32,
        tag: String,
    ) -> Result<WitChangedRows, wit::ConnectorError> {
        Ok(rows(W::write_rows(&config::<W>(&c)?, &table, count, &tag)?))
    }
    pub fn deletable_tables<W: WriteBack>(c: String) -> Result<Vec<String>, wit::ConnectorError> {
        Ok(W::deletable_tables(&config::<W>(&c)?)?)
    }
    pub fn delete_rows<W: WriteBack>(
        c: String,
        table: String,
        count: u32,
        tag: String,
    ) -> Result<WitChangedRows, wit::ConnectorError> {
        Ok(rows(W::delete_rows(
            &config::<W>(&c)?,
            &table,
            count,
            &tag,
        )?))
    }
}
