//! End-to-end tests: the real `odoo-sync` binary against the Odoo simulator and a temp SQLite (or
//! a fresh PostgreSQL database, in `postgres`).

mod admin_browser;
mod chaos;
mod docs_examples;
mod doors;
mod facets;
mod fuzzed_inputs;
mod helpers;
mod http_api;
mod http_sync;
mod images;
mod metrics;
mod odoo_state;
mod odoo_versions;
mod ops_cli;
mod postgres;
mod pricing;
mod secrets;
mod site_webhooks;
mod storefront;
mod sync_cli;
mod sync_faults;
mod webhooks;
