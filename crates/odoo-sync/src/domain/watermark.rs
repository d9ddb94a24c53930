//! Watermarks: how far incremental sync has read each model's `write_date`.
//!
//! Odoo stamps `write_date` with the time its transaction *started* and answers with one-second
//! precision, so a slow transaction can commit rows older than a watermark already passed. Reads
//! therefore start an overlap window before the watermark, with `>=`, and re-reading a row is
//! harmless because unchanged rows are not rewritten.

use std::fmt;
use std::str::FromStr;

use chrono::{Duration, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

/// The models whose `write_date` incremental sync follows, each with its own watermark: a variant
/// write does not move its template's `write_date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatermarkKey {
    Category,
    Variant,
    Template,
    /// Stock moves no product `write_date`: quants have their own sweep.
    StockQuant,
    /// `price_extra` moves no product `write_date` either.
    AttributeValue,
    /// Nor do extra media (`product.image`, website_sale).
    ExtraImage,
}

impl WatermarkKey {
    pub const ALL: [WatermarkKey; 6] = [
        Self::Category,
        Self::Variant,
        Self::Template,
        Self::StockQuant,
        Self::AttributeValue,
        Self::ExtraImage,
    ];
    /// The keys incremental runs follow.
    pub const CATALOG: [WatermarkKey; 3] = [Self::Category, Self::Variant, Self::Template];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Category => "watermark.product.category",
            Self::Variant => "watermark.product.product",
            Self::Template => "watermark.product.template",
            Self::StockQuant => "watermark.stock.quant",
            Self::AttributeValue => "watermark.product.template.attribute.value",
            Self::ExtraImage => "watermark.product.image",
        }
    }

    pub fn model(&self) -> &'static str {
        match self {
            Self::Category => "product.category",
            Self::Variant => "product.product",
            Self::Template => "product.template",
            Self::StockQuant => "stock.quant",
            Self::AttributeValue => "product.template.attribute.value",
            Self::ExtraImage => "product.image",
        }
    }
}

impl fmt::Display for WatermarkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WatermarkKey {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|key| key.as_str() == text)
            .ok_or_else(|| format!("unknown watermark key '{text}'"))
    }
}

/// The newest `write_date` seen for a model, as Odoo reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Watermark(pub NaiveDateTime);

impl Watermark {
    /// Where the next incremental read starts: the overlap window before the watermark, on a whole
    /// second (the precision Odoo compares and answers with).
    pub fn read_from(&self, overlap: Duration) -> NaiveDateTime {
        truncate_to_second(self.0 - overlap)
    }

    /// The watermark after seeing `seen`: never moves backwards.
    pub fn advance(current: Option<Watermark>, seen: NaiveDateTime) -> Watermark {
        let seen = Watermark(truncate_to_second(seen));
        match current {
            Some(current) if current >= seen => current,
            _ => seen,
        }
    }
}

pub fn truncate_to_second(at: NaiveDateTime) -> NaiveDateTime {
    at.with_nanosecond(0)
        .expect("zero nanoseconds is always valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn reads_start_an_overlap_window_before_the_watermark_on_a_whole_second() {
        let mark = Watermark(at("2026-11-24 13:49:55"));
        assert_eq!(
            mark.read_from(Duration::seconds(120)),
            at("2026-11-24 13:47:55")
        );
        let fractional = Watermark(at("2026-11-24 13:49:55.700"));
        assert_eq!(
            fractional.read_from(Duration::zero()),
            at("2026-11-24 13:49:55")
        );
    }

    #[test]
    fn a_late_commit_older_than_the_watermark_is_inside_the_next_read() {
        // Fixture write_date_not_commit_order: L started at :54 and committed after Q (:55) was seen.
        let mark = Watermark::advance(None, at("2026-11-24 13:49:55"));
        let late_row = at("2026-11-24 13:49:54");
        assert!(mark.read_from(Duration::seconds(60)) <= late_row);
    }

    #[test]
    fn the_watermark_never_moves_backwards() {
        let mark = Watermark::advance(None, at("2026-11-24 13:49:55.123"));
        assert_eq!(mark, Watermark(at("2026-11-24 13:49:55")));
        assert_eq!(
            Watermark::advance(Some(mark), at("2026-11-24 13:00:00")),
            mark
        );
        assert_eq!(
            Watermark::advance(Some(mark), at("2026-11-24 13:50:00")),
            Watermark(at("2026-11-24 13:50:00"))
        );
    }

    #[test]
    fn keys_round_trip() {
        for key in WatermarkKey::ALL {
            assert_eq!(key.as_str().parse::<WatermarkKey>().unwrap(), key);
        }
    }
}
