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

/// The widths the image API serves (a wanted width snaps up to one of them), and its resized
/// copies are made at.
pub const WIDTHS: [u32; 5] = [128, 256, 512, 1024, 1920];

impl ImageMeta {
    /// The image store name and type of this image at `width`, WebP or in its own format: the
    /// original itself when nothing changes.
    pub fn file_at(&self, width: u32, webp: bool) -> (String, &'static str) {
        let own: &'static str = match self.mime.as_str() {
            "image/png" => "image/png",
            "image/jpeg" => "image/jpeg",
            "image/gif" => "image/gif",
            _ => "image/webp",
        };
        match (width == self.width, webp || own == "image/webp") {
            (true, false) => (self.content_hash.clone(), own),
            (_, true) => (format!("{}.w{width}.webp", self.content_hash), "image/webp"),
            (false, false) => {
                let ext = own.trim_start_matches("image/");
                (format!("{}.w{width}.{ext}", self.content_hash), own)
            }
        }
    }

    /// Every name this image may have in the image store: the original and each copy the image
    /// API may have made of it (what collecting the blob deletes).
    pub fn file_names(&self) -> Vec<String> {
        let widths = WIDTHS.iter().copied().filter(|w| *w < self.width);
        let mut names: Vec<String> = widths
            .chain([self.width])
            .flat_map(|width| [self.file_at(width, false).0, self.file_at(width, true).0])
            .chain([self.content_hash.clone()])
            .collect();
        names.sort();
        names.dedup();
        names
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(mime: &str, width: u32) -> ImageMeta {
        ImageMeta {
            checksum: "c".into(),
            content_hash: "h".into(),
            mime: mime.into(),
            width,
            height: width,
            size: 1,
        }
    }

    #[test]
    fn the_file_names_of_an_image_are_every_name_the_api_can_serve_it_under() {
        for image in [
            meta("image/png", 800),
            meta("image/jpeg", 1920),
            meta("image/webp", 64),
        ] {
            let names = image.file_names();
            for width in WIDTHS.into_iter().chain([image.width]) {
                for webp in [false, true] {
                    if width <= image.width {
                        let (name, _) = image.file_at(width, webp);
                        assert!(names.contains(&name), "{name} of {image:?}");
                    }
                }
            }
            assert!(names.contains(&"h".to_string()), "the original");
        }
        assert_eq!(
            meta("image/png", 300).file_names(),
            [
                "h",
                "h.w128.png",
                "h.w128.webp",
                "h.w256.png",
                "h.w256.webp",
                "h.w300.webp"
            ]
        );
    }
}
