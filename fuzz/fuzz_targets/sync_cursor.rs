//! Any text as the sync API's `cursor`: a position or an error, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo_sync::domain::SyncCursor;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = SyncCursor::from_token(token);
    }
});
