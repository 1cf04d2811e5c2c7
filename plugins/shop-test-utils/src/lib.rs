//! source-shop's test-utils: they write customers to the shop API and delete
//! them, for ctest's write-back suite (`ctest run source-shop.wasm
//! --test-utils source-shop-test-utils.wasm --allow-writes`).
//!
//! [`ShopWriter`] is generic over a [`WriteDefect`] so that each broken
//! variant (the `broken_wb_*` examples) departs from the correct behaviour in
//! exactly one hook. [`ShopWith`] does the same for the connector itself
//! (the `broken_shop_*` examples, which source-shop's scenarios catch).

use std::marker::PhantomData;

use ctest_sdk::http::Request;
use ctest_sdk::prelude::*;
use serde_json::{Value, json};
use shop::Config;

pub use ctest_sdk;

/// Where a variant departs from the correct test-utils. Every hook defaults
/// to the correct behaviour.
pub trait WriteDefect: 'static {
    /// The row as sent in `POST /v1/customers`.
    fn row(row: Value) -> Value {
        row
    }
    /// Writes the row; returns the customer as the API created it.
    fn post(config: &Config, row: &Value) -> Result<Value, Error> {
        let response = shop::send(
            config,
            Request::post(shop::url(config, "/v1/customers")).json(row),
        )?;
        if response.status != 201 {
            return Err(shop::api_error("POST /v1/customers", &response));
        }
        response.json()
    }
    /// The path that deletes customer `id`.
    fn delete_path(id: u64) -> String {
        format!("/v1/customers/{id}")
    }
    /// Where each written field appears in a record.
    fn mapping() -> Vec<(String, String)> {
        ["id", "name", "email", "plan", "updated_at"]
            .iter()
            .map(|f| (f.to_string(), f.to_string()))
            .collect()
    }
    fn deletable_tables() -> Vec<String> {
        vec!["customers".into()]
    }
}

/// The correct test-utils.
pub struct Correct;
impl WriteDefect for Correct {}

/// Writes and deletes customers of the shop API.
pub struct ShopWriter<D>(PhantomData<D>);

fn only_customers(table: &str) -> Result<(), Error> {
    if table == "customers" {
        Ok(())
    } else {
        Err(Error::config(format!(
            "rows can be written to and deleted from `customers` only, not `{table}`"
        )))
    }
}

impl<D: WriteDefect> WriteBack for ShopWriter<D> {
    type Config = Config;

    fn insertable_tables(_config: &Config) -> Result<Vec<String>, Error> {
        Ok(vec!["customers".into()])
    }

    fn write_rows(
        config: &Config,
        table: &str,
        count: u32,
        tag: &str,
    ) -> Result<ChangedRows, Error> {
        only_customers(table)?;
        let mut rows = Vec::new();
        for i in 1..=count {
            let row = D::row(json!({
                "name": format!("{tag} customer {i}"),
                "email": format!("{tag}.{i}@example.com"),
                "plan": "team",
            }));
            rows.push(D::post(config, &row)?);
        }
        Ok(ChangedRows {
            rows,
            column_mapping: D::mapping(),
        })
    }

    fn deletable_tables(_config: &Config) -> Result<Vec<String>, Error> {
        Ok(D::deletable_tables())
    }

    /// Writes `count` customers for the purpose, then deletes them, so the
    /// API keeps its data.
    fn delete_rows(
        config: &Config,
        table: &str,
        count: u32,
        tag: &str,
    ) -> Result<ChangedRows, Error> {
        only_customers(table)?;
        let written = Self::write_rows(config, table, count, tag)?;
        let mut rows = Vec::new();
        for row in written.rows {
            let id = row["id"].as_u64().ok_or_else(|| {
                Error::system(format!("the API created a customer without an id: {row}"))
            })?;
            let path = D::delete_path(id);
            let response = shop::send(config, Request::delete(shop::url(config, &path)))?;
            if response.status != 200 {
                return Err(shop::api_error(&format!("DELETE {path}"), &response));
            }
            rows.push(json!({"id": id}));
        }
        Ok(ChangedRows {
            rows,
            column_mapping: vec![("id".into(), "id".into())],
        })
    }
}

/// Where a variant of source-shop departs from it (see [`ShopWith`]).
/// Every hook defaults to source-shop's own behaviour.
pub trait ShopDefect: 'static {
    fn check(config: Config) -> Result<CheckOutcome, Error> {
        <shop::Shop as Connector>::check(config)
    }
    /// The state a read starts from, given the one ctest passed.
    fn state(state: State) -> State {
        state
    }
}

/// source-shop with one defect, `D`.
pub struct ShopWith<D>(PhantomData<D>);

impl<D: ShopDefect> Connector for ShopWith<D> {
    type Config = Config;
    fn spec() -> Spec {
        <shop::Shop as Connector>::spec()
    }
    fn check(config: Config) -> Result<CheckOutcome, Error> {
        D::check(config)
    }
    fn discover(config: Config) -> Result<Vec<Stream>, Error> {
        <shop::Shop as Connector>::discover(config)
    }
    fn read(config: Config, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        <shop::Shop as Connector>::read(config, catalog, D::state(state))
    }
}
