//! Catalog images: a stored blob's metadata and a product's or variant's reference to it.

use serde::{Deserialize, Serialize};

/// One stored image: named in the image store by the SHA-256 of its bytes (`content_hash`),
/// found again from Odoo's `ir.attachment.checksum` (SHA-1 of the same bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageMeta {
    pub checksum: String,
    pub content_hash: String,
    pub mime: String,
    pub width: u32,
    pub height: u32,
    pub size: u64,
}

/// An image shown for a product: the template's (`variant_id` none) or a variant's, in
/// `position` order (the template or variant image first, then `product.image` by sequence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductImage {
    pub product_id: i64,
    pub variant_id: Option<i64>,
    pub position: i64,
    pub alt: Option<String>,
    #[serde(flatten)]
    pub meta: ImageMeta,
}

/// How many blobs the store holds and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImageStats {
    pub count: u64,
    pub bytes: u64,
}
