//! What a connector offers: its spec and its streams.

use crate::{Feature, IngestionType, SyncMode};

/// The connector's specification.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub version: String,
    /// JSON Schema (draft 7) of the config; mark secret properties `"secret": true`.
    pub connection_specification: serde_json::Value,
    /// Hosts the connector reaches: `Some(vec![])` for explicitly none,
    /// `None` when not declared (ctest's connector_attributes suite fails then).
    pub allowed_hosts: Option<Vec<String>>,
    pub features: Vec<Feature>,
    pub documentation_url: Option<String>,
}

impl Spec {
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        connection_specification: serde_json::Value,
    ) -> Self {
        Spec {
            name: name.into(),
            version: version.into(),
            connection_specification,
            allowed_hosts: None,
            features: Vec::new(),
            documentation_url: None,
        }
    }
    /// The hosts the connector reaches, for example `api.vendor.com`.
    pub fn allowed_hosts(mut self, hosts: &[&str]) -> Self {
        self.allowed_hosts = Some(hosts.iter().map(|h| h.to_string()).collect());
        self
    }
    /// Declares that the connector reaches no host at all.
    pub fn no_network(mut self) -> Self {
        self.allowed_hosts = Some(Vec::new());
        self
    }
    pub fn feature(mut self, feature: Feature) -> Self {
        self.features.push(feature);
        self
    }
}

/// A stream the connector offers.
#[derive(Debug, Clone)]
pub struct Stream {
    pub name: String,
    pub json_schema: serde_json::Value,
    pub supported_sync_modes: Vec<SyncMode>,
    pub source_defined_cursor: bool,
    pub default_cursor_field: Vec<String>,
    pub primary_key: Vec<Vec<String>>,
    pub ingestion_type: IngestionType,
}

impl Stream {
    /// A full-refresh, append stream without key or cursor.
    pub fn new(name: impl Into<String>, json_schema: serde_json::Value) -> Self {
        Stream {
            name: name.into(),
            json_schema,
            supported_sync_modes: vec![SyncMode::FullRefresh],
            source_defined_cursor: false,
            default_cursor_field: Vec::new(),
            primary_key: Vec::new(),
            ingestion_type: IngestionType::Append,
        }
    }
    /// Sets a top-level primary key field.
    pub fn primary_key(mut self, field: &str) -> Self {
        self.primary_key = vec![vec![field.to_string()]];
        self
    }
    /// Sets a primary key of one field inside nested objects, by its path:
    /// `&["customer", "id"]` for `{"customer": {"id": 7}}`.
    pub fn primary_key_path(mut self, path: &[&str]) -> Self {
        self.primary_key = vec![path.iter().map(|f| f.to_string()).collect()];
        self
    }
    /// Sets a compound primary key: several top-level fields that together
    /// identify a record, such as `&["order_id", "line"]`.
    pub fn compound_primary_key(mut self, fields: &[&str]) -> Self {
        self.primary_key = fields.iter().map(|f| vec![f.to_string()]).collect();
        self
    }
    /// Sets a compound primary key of fields given by their paths, nested or
    /// not: `&[&["order", "id"], &["line"]]`.
    pub fn compound_primary_key_paths(mut self, paths: &[&[&str]]) -> Self {
        self.primary_key = paths
            .iter()
            .map(|p| p.iter().map(|f| f.to_string()).collect())
            .collect();
        self
    }
    /// Makes the stream incremental on the top-level `field`, chosen by the source.
    pub fn incremental(self, cursor_field: &str) -> Self {
        self.incremental_path(&[cursor_field])
    }
    /// Makes the stream incremental on a cursor inside nested objects, by
    /// its path: `&["meta", "updated_at"]`. Emit the state with the cursor at
    /// the same path (`{"meta": {"updated_at": ...}}`): ctest's incremental
    /// suite reads it there.
    pub fn incremental_path(mut self, path: &[&str]) -> Self {
        if !self.supported_sync_modes.contains(&SyncMode::Incremental) {
            self.supported_sync_modes.push(SyncMode::Incremental);
        }
        self.source_defined_cursor = true;
        self.default_cursor_field = path.iter().map(|f| f.to_string()).collect();
        self
    }
    pub fn ingestion_type(mut self, ingestion_type: IngestionType) -> Self {
        self.ingestion_type = ingestion_type;
        self
    }
}
