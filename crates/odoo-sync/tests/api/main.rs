//! End-to-end tests: the real `odoo-sync` binary against the Odoo simulator and a temp SQLite.

mod helpers;
mod odoo_state;
mod sync_cli;
mod sync_faults;
