//! Any bytes as `odoo-sync.toml`: a config or an error naming the file or the key, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo_sync::config::Config;

fuzz_target!(|text: &[u8]| {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("odoo-sync.toml");
    std::fs::write(&path, text).expect("written");
    match Config::load(Some(&path)) {
        Ok(config) => {
            let _ = config.odoo();
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
