//! Stock per variant: Odoo's quants in internal locations, summed.

/// What a variant has in stock, summed over internal locations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StockLevel {
    pub variant_id: i64,
    pub qty_available: f64,
    pub free_qty: f64,
}

impl StockLevel {
    /// A variant without quants in internal locations.
    pub fn empty(variant_id: i64) -> StockLevel {
        StockLevel {
            variant_id,
            qty_available: 0.0,
            free_qty: 0.0,
        }
    }
}
