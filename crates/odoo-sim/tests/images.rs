//! Images: image fields read through ir.attachment, res_field semantics, checksums, writes.

mod common;

use common::{generated, rpc};
use serde_json::json;

#[tokio::test]
async fn image_fields_read_through_attachments_whose_checksum_is_the_sha1_of_the_bytes() {
    let sim = generated(200, 7).await;
    let plain = rpc(
        &sim,
        "ir.attachment",
        "search_count",
        json!([[]]),
        json!({}),
    )
    .await;
    assert_eq!(
        plain,
        json!(0),
        "field attachments hidden without res_field"
    );
    let atts = rpc(
        &sim,
        "ir.attachment",
        "search_read",
        json!([[
            ["res_model", "=", "product.template"],
            ["res_field", "=", "image_1920"]
        ]]),
        json!({"fields": ["res_id", "checksum", "file_size", "mimetype"]}),
    )
    .await;
    let atts = atts.as_array().unwrap();
    assert!(
        atts.len() > 100 && atts.len() < 200,
        "most templates have an image: {}",
        atts.len()
    );
    let first = &atts[0];
    let id = first["res_id"].as_i64().unwrap();
    let read = rpc(
        &sim,
        "product.template",
        "read",
        json!([[id]]),
        json!({"fields": ["image_1920", "image_128"]}),
    )
    .await;
    let b64 = read[0]["image_1920"].as_str().unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    use sha1::Digest as _;
    let sha: String = sha1::Sha1::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(first["checksum"].as_str().unwrap(), sha);
    assert_eq!(first["file_size"].as_i64().unwrap() as usize, bytes.len());
    assert_eq!(read[0]["image_128"], read[0]["image_1920"]);

    rpc(
        &sim,
        "product.template",
        "write",
        json!([[id], {"image_1920": false}]),
        json!({}),
    )
    .await;
    let read = rpc(
        &sim,
        "product.template",
        "read",
        json!([[id]]),
        json!({"fields": ["image_1920", "write_date"]}),
    )
    .await;
    assert_eq!(read[0]["image_1920"], json!(false));
    let extras = rpc(
        &sim,
        "product.image",
        "search_read",
        json!([[]]),
        json!({"fields": ["product_tmpl_id", "name", "sequence", "image_1920"], "limit": 1}),
    )
    .await;
    assert!(extras[0]["image_1920"].is_string(), "{extras}");
}
