//! Every `users` record goes in `records` batches of 10 (JSON lines), as the
//! TypeScript SDK sends them, and user 17's `age` is a string. Caught by
//! basic_read/records_match_schema at the record's index in the stream, as
//! if it had come alone.
//!
//! ctest: fails basic_read/records_match_schema
//! ctest: says record index 16 of stream `users` at `/age`
//! ctest: says "forty-two" is not of type "integer"
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json};

struct BatchSchemaMismatch;
impl Defect for BatchSchemaMismatch {
    fn messages(messages: Messages) -> Messages {
        // The records waiting for their batch, and the first one's emitted_at.
        let mut pending: Vec<serde_json::Value> = Vec::new();
        let mut first_emitted_at = 0;
        let mut out: Vec<Result<Message, Error>> = Vec::new();
        let flush = |pending: &mut Vec<serde_json::Value>, at: i64, out: &mut Vec<_>| {
            if !pending.is_empty() {
                out.push(Ok(Message::records("users", pending, at)));
                pending.clear();
            }
        };
        for m in messages {
            match m {
                Ok(Message::Record {
                    stream,
                    data,
                    emitted_at,
                }) if stream == "users" => {
                    if pending.is_empty() {
                        first_emitted_at = emitted_at;
                    }
                    let mut record: serde_json::Value = serde_json::from_str(&data).unwrap();
                    if record["id"] == json!(17) {
                        record["age"] = json!("forty-two");
                    }
                    pending.push(record);
                    if pending.len() == 10 {
                        flush(&mut pending, first_emitted_at, &mut out);
                    }
                }
                other => {
                    flush(&mut pending, first_emitted_at, &mut out);
                    out.push(other);
                }
            }
        }
        flush(&mut pending, first_emitted_at, &mut out);
        Box::new(out.into_iter())
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<BatchSchemaMismatch>);
