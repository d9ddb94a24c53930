//! What full-text search sees of a product, and how PostgreSQL is given the same view as SQLite's
//! FTS5 (`unicode61 remove_diacritics 2`): runs of letters and digits, lower case, without
//! diacritics; every term of a query must match as a prefix, a term with punctuation
//! (`FURN_0096`) as a phrase. odoo-sync tokenises for PostgreSQL itself (no text search parser,
//! locale or `unaccent` extension involved), so both stores find the same products.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::domain::Product;

/// PostgreSQL refuses lexemes longer than this (bytes); FTS5 has no limit, but no shopper types one.
const MAX_LEXEME_BYTES: usize = 2046;

/// The product's names in every language, as one text (a phrase may span two of them, in both
/// stores).
pub(super) fn search_names(product: &Product) -> String {
    let names: Vec<&str> = std::iter::once(product.name.as_str())
        .chain(product.translations.values().map(|t| t.name.as_str()))
        .collect();
    names.join(" ")
}

/// The template's and its variants' SKUs and barcodes.
pub(super) fn search_codes(product: &Product) -> String {
    let codes: Vec<&str> = [&product.default_code, &product.barcode]
        .into_iter()
        .chain(
            product
                .variants
                .iter()
                .flat_map(|v| [&v.default_code, &v.barcode]),
        )
        .filter_map(|code| code.as_deref())
        .collect();
    codes.join(" ")
}

/// Lower case, diacritics removed, split on anything that is not a letter or a digit.
fn tokens(text: &str) -> Vec<String> {
    let folded: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|token| !token.is_empty() && token.len() <= MAX_LEXEME_BYTES)
        .map(str::to_string)
        .collect()
}

/// The product's `tsvector` in PostgreSQL's input syntax: names, then codes one position further
/// than adjacent, so that a phrase never spans the two (they are two FTS5 columns in SQLite).
pub(super) fn search_vector(product: &Product) -> String {
    let mut vector = String::new();
    let mut position = 0;
    for text in [search_names(product), search_codes(product)] {
        position += 1;
        for token in tokens(&text) {
            position += 1;
            // Tokens are letters and digits only: nothing in them needs escaping.
            vector.push_str(&format!("'{token}':{} ", position.min(16_383)));
        }
    }
    vector
}

/// What a shopper typed as a `tsquery` that matches what [`super::fts_query`] matches in FTS5:
/// every term must match, as a prefix; a term of several tokens is a phrase, its last token a
/// prefix.
pub(super) fn ts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .map(|term| term.replace('"', ""))
        .filter(|term| term.chars().any(char::is_alphanumeric))
        .filter_map(|term| {
            let tokens = tokens(&term);
            let (last, before) = tokens.split_last()?;
            let mut phrase: Vec<String> = before.iter().map(|t| format!("'{t}'")).collect();
            phrase.push(format!("'{last}':*"));
            Some(phrase.join(" <-> "))
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_become_prefix_phrases_without_case_or_diacritics() {
        assert_eq!(ts_query("Élève bureau").unwrap(), "'eleve':* & 'bureau':*");
        assert_eq!(
            ts_query("FURN_0096 \"x").unwrap(),
            "'furn' <-> '0096':* & 'x':*"
        );
        assert_eq!(ts_query("  - * "), None);
    }

    #[test]
    fn a_vector_keeps_names_and_codes_a_position_apart() {
        let mut product: Product = serde_json::from_value(serde_json::json!({
            "id": 1, "name": "Chaise élève", "default_code": "FURN_0096", "barcode": null,
            "list_price": 1.0, "categ_id": null, "description_sale": null, "active": true,
            "sale_ok": true, "is_published": true, "public_categ_ids": [],
            "write_date": "2026-01-01 00:00:00", "variants": [], "translations": {}, "extra": {}
        }))
        .unwrap();
        assert_eq!(
            search_vector(&product),
            "'chaise':2 'eleve':3 'furn':5 '0096':6 "
        );
        product.default_code = None;
        assert_eq!(search_vector(&product), "'chaise':2 'eleve':3 ");
    }
}
