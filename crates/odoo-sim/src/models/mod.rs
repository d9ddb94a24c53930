//! The simulated models: schema (`defs`), records and field resolution (`store`), computed
//! fields and wire values (`compute`).

pub mod base;
pub mod compute;
pub mod defs;
pub mod store;

pub use defs::{model_def, ModelDef, Ty};
pub use store::{Db, FieldRef, Rec, Src};
