//! odoo-sync
