//! odoo-sync keeps a product catalog in sync with Odoo and serves it.
//!
//! Layers, arrows pointing one way: `cli`, `http` → `engine` → (`store` traits, `odoo_rpc::OdooApi`) →
//! `domain`. Only `startup` names concrete types.

pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod export;
pub mod http;
pub mod meters;
pub mod odoo_admin;
pub mod startup;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
