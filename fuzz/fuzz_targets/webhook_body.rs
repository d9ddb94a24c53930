//! Any bytes as the body of `POST /api/products/sync/webhook`: an event or an error, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odoo_sync::domain::{parse_webhook, WebhookKind};

fuzz_target!(|body: &[u8]| {
    for kind in [WebhookKind::Save, WebhookKind::Unlink] {
        if let Err(message) = parse_webhook(body, kind) {
            assert!(!message.is_empty());
        }
    }
});
