//! The catalog as `discover` returned it, each stream's schema parsed once.

use serde_json::Value;

use crate::sandbox::bindings::ctest::connector::types as wit;

/// A discovered stream with its parsed schema.
pub struct DiscoveredStream {
    pub info: wit::StreamInfo,
    /// `None` when the stream's schema is not a usable JSON Schema.
    pub schema: Option<Value>,
    /// The records' validator, compiled once for every read that checks them.
    pub(crate) validator: std::sync::OnceLock<
        Option<std::sync::Arc<jsonschema::Validator<crate::checks::doc::DocJson>>>,
    >,
}

impl DiscoveredStream {
    pub fn new(info: wit::StreamInfo, schema: Option<Value>) -> Self {
        DiscoveredStream {
            info,
            schema,
            validator: Default::default(),
        }
    }

    /// The validator of the stream's records (`None`: no usable schema).
    pub(crate) fn record_validator(
        &self,
    ) -> Option<std::sync::Arc<jsonschema::Validator<crate::checks::doc::DocJson>>> {
        self.validator
            .get_or_init(|| {
                let schema = self.schema.as_ref()?;
                crate::schema::record_validator_for(schema)
                    .ok()
                    .map(std::sync::Arc::new)
            })
            .clone()
    }

    /// The primary key's field paths that the schema declares. (Keys it does
    /// not declare are discovery's finding, not the read's.)
    pub fn declared_primary_key(&self) -> Vec<Vec<String>> {
        self.info
            .source_defined_primary_key
            .iter()
            .filter(|path| {
                self.schema
                    .as_ref()
                    .is_some_and(|sc| crate::schema::field_schema(sc, path).is_some())
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
impl DiscoveredStream {
    /// A full-refresh, append stream for unit tests: `name`, its primary
    /// key's top-level fields, and its schema.
    pub(crate) fn for_tests(name: &str, primary_key: &[&str], schema: Option<Value>) -> Self {
        DiscoveredStream::new(
            wit::StreamInfo {
                name: name.into(),
                json_schema: schema.as_ref().map(Value::to_string).unwrap_or_default(),
                supported_sync_modes: vec![wit::SyncMode::FullRefresh],
                source_defined_cursor: false,
                default_cursor_field: Vec::new(),
                source_defined_primary_key: primary_key
                    .iter()
                    .map(|k| vec![k.to_string()])
                    .collect(),
                ingestion_type: wit::IngestionType::Append,
            },
            schema,
        )
    }
}
