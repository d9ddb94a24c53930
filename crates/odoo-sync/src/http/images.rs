//! `GET /api/images/{hash}`: a stored image by the SHA-256 of its bytes, at a width snapped to
//! 128, 256, 512, 1024 or 1920 (never upscaled), as WebP when the request accepts it, else in
//! its own format. Each (width, format) is made once and kept in the image store beside the
//! original; the answer is immutable (its name is its content), with an ETag.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiError;
use super::extract::QueryParams;
use super::AppState;
use crate::domain::image::WIDTHS;

/// The widths an image is served at.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImageParams {
    /// Wanted width in pixels: snapped up to 128, 256, 512, 1024 or 1920, and never above the
    /// image's own width.
    w: Option<String>,
}

/// The width served for a wanted one: the smallest snap width at least `wanted` (1920 above
/// it), and the image's own width when that is smaller (no upscaling).
pub fn served_width(wanted: Option<u32>, own: u32) -> u32 {
    let snapped = match wanted {
        Some(w) => WIDTHS.iter().copied().find(|s| *s >= w).unwrap_or(1920),
        None => return own,
    };
    snapped.min(own)
}

/// The API path of an image (what products' `images[].url` carry).
pub fn image_url(content_hash: &str) -> String {
    format!("/api/images/{content_hash}")
}

#[utoipa::path(get, path = "/api/images/{hash}", tag = "catalog",
    params(("hash" = String, Path, description = "SHA-256 of the image's bytes, as in a product's images[].url"), ImageParams),
    responses(
        (status = 200, description = "the image (WebP when Accept allows, else its own format)", content_type = "image/*"),
        (status = 304, description = "If-None-Match matched"),
        (status = 400, description = "w is not a number",
            example = json!({"error": {"code": "invalid_query", "message": "w must be a width in pixels, got 'abc'"}})),
        (status = 404, description = "no image stored under this hash")))]
pub async fn image(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    params: Result<QueryParams<ImageParams>, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // A private catalog's images are private too, and who may not see them learns nothing of
    // what the query should have been.
    state.check_catalog_access(&headers)?;
    let QueryParams(params) = params?;
    let wanted = params
        .w
        .as_deref()
        .map(|w| {
            w.parse::<u32>().map_err(|_| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("w must be a width in pixels, got '{w}'"),
                )
            })
        })
        .transpose()?;
    let not_found = || ApiError::NotFound(format!("image {hash} not found"));
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let blobs = state
        .sync
        .engine()
        .images()
        .cloned()
        .ok_or_else(not_found)?;
    let meta = state.store.image(&hash).await?.ok_or_else(not_found)?;
    let webp = accepts_webp(&headers);
    let width = served_width(wanted, meta.width);
    let (name, mime) = meta.file_at(width, webp);
    let etag = format!("\"{}\"", name.replace('/', "-"));
    let matched = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matched {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let bytes = match blobs.get(&name).await? {
            Some(bytes) => bytes,
            None => {
                let original = blobs.get(&meta.content_hash).await?.ok_or_else(not_found)?;
                let made = tokio::task::spawn_blocking(move || render(&original, width, webp))
                    .await
                    .map_err(|e| ApiError::Internal(Box::new(e)))??;
                blobs.put(&name, made.clone()).await?;
                made
            }
        };
        let mut response = bytes.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

fn accepts_webp(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let mut parts = t.split(';');
            let kind = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            kind == "image/webp" && !refused
        })
}

/// Decodes, resizes to `width` (keeping the aspect ratio) and encodes (lossless WebP, or the
/// original's format).
fn render(original: &[u8], width: u32, webp: bool) -> Result<Vec<u8>, image::ImageError> {
    let format = image::guess_format(original)?;
    let decoded = image::load_from_memory_with_format(original, format)?;
    let resized = match width < decoded.width() {
        true => {
            let height = ((decoded.height() as u64 * width as u64) / decoded.width() as u64).max(1);
            decoded.resize_exact(width, height as u32, image::imageops::FilterType::Lanczos3)
        }
        false => decoded,
    };
    let out_format = match webp {
        true => image::ImageFormat::WebP,
        false => format,
    };
    let resized = match out_format {
        // The WebP and JPEG encoders take 8-bit RGB(A).
        image::ImageFormat::WebP => image::DynamicImage::ImageRgba8(resized.to_rgba8()),
        image::ImageFormat::Jpeg => image::DynamicImage::ImageRgb8(resized.to_rgb8()),
        _ => resized,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    resized.write_to(&mut out, out_format)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_snap_up_to_the_next_size_and_never_above_the_image() {
        assert_eq!(served_width(Some(100), 600), 128);
        assert_eq!(served_width(Some(300), 600), 512);
        assert_eq!(served_width(Some(5000), 4000), 1920);
        assert_eq!(served_width(Some(1024), 64), 64);
        assert_eq!(served_width(None, 640), 640);
    }
}
