//! Writing to the source through a `write-back` export (the connector's own,
//! or a test-utils component's): the tables it can change, and one call that
//! writes or deletes rows, its answer parsed.

use serde_json::Value;

use crate::sandbox::bindings::ctest::connector::types as wit;
use crate::sandbox::{ConnectorError, Plugin, PluginError};

/// Rows a write-back call changed, parsed: each row as JSON, and the column
/// mapping (a row's field → the path of that value in the stream's records).
pub struct Changed {
    pub rows: Vec<Value>,
    pub mapping: Vec<(String, Vec<String>)>,
}

/// The value of a plugin call that can also return the connector's error:
/// `Err` says which call failed and how.
pub fn answer<T>(
    result: Result<Result<T, wit::ConnectorError>, PluginError>,
    call: &str,
) -> Result<T, String> {
    match result {
        Err(e) => Err(e.to_string()),
        Ok(Err(e)) => Err(format!(
            "`{call}` returned an error: {}",
            ConnectorError::from(e)
        )),
        Ok(Ok(v)) => Ok(v),
    }
}

/// The tables `utils` can write rows to, and those it can delete rows from.
pub fn tables(utils: &mut Plugin<'_>, config: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let insertable = answer(utils.insertable_tables(config), "insertable-tables")?;
    let deletable = answer(utils.deletable_tables(config), "deletable-tables")?;
    Ok((insertable, deletable))
}

/// Writes (`delete`: deletes) one row of `table`, tagged with `tag`.
pub fn change_rows(
    utils: &mut Plugin<'_>,
    delete: bool,
    config: &str,
    table: &str,
    tag: &str,
) -> Result<Changed, String> {
    let call = if delete { "delete-rows" } else { "write-rows" };
    let changed = answer(utils.change_rows(delete, config, table, 1, tag), call)?;
    let rows = changed
        .rows
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r)
                .map_err(|e| format!("`{call}` returned a row that is not JSON ({e}): {r}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Changed {
        rows,
        mapping: changed
            .column_mapping
            .into_iter()
            .map(|(field, path)| (field, path.split('.').map(str::to_string).collect()))
            .collect(),
    })
}
