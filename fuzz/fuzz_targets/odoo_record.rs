//! Any JSON object as a record Odoo sent: every accessor gives a value or a `DecodeError`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo_rpc::Record;

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(data) else {
        return;
    };
    let names: Vec<String> = fields.keys().cloned().chain(["id".to_owned()]).collect();
    let record = Record(fields);
    let _ = record.id();
    for name in &names {
        let _ = record.get_str(name);
        let _ = record.get_f64(name);
        let _ = record.get_i64(name);
        let _ = record.get_bool(name);
        let _ = record.get_ids(name);
        let _ = record.get_many2one(name);
        let _ = record.get_many2one_id(name);
        let _ = record.get_datetime(name);
    }
});
