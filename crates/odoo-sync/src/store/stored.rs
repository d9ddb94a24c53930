//! What both stores encode and decode the same way, whatever their SQL: Odoo datetimes kept as
//! text, the `sync_state` values (watermarks, the kept Odoo session), and the errors that name a
//! stored value that cannot be read back.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{OdooSession, StoreError};
use crate::domain::{RunId, Watermark, WatermarkKey};

/// Odoo's datetime format, second precision, as Odoo answers it.
const ODOO_DATETIME: &str = "%Y-%m-%d %H:%M:%S";
/// The `sync_state` key of the kept Odoo login.
pub(super) const ODOO_SESSION_KEY: &str = "odoo.session";

pub(super) fn corrupt(what: &str, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: what.to_string(),
        detail: detail.into(),
    }
}

/// A row of `table` read column by column: a value that does not decode (a wrong type, NULL where
/// a value is expected, as a hand-edited or older database may hold) is a `StoreError::Decode`
/// naming the table, the column and the row by its `key` column, never a panic.
pub(super) struct Cells<'r, R> {
    row: &'r R,
    table: &'static str,
    key: &'static str,
}

impl<'r, R> Cells<'r, R>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + Decode<'r, R::Database>,
    String: Type<R::Database> + Decode<'r, R::Database>,
{
    pub(super) fn new(row: &'r R, table: &'static str, key: &'static str) -> Self {
        Cells { row, table, key }
    }

    pub(super) fn get<T>(&self, column: &str) -> Result<T, StoreError>
    where
        T: Type<R::Database> + Decode<'r, R::Database>,
    {
        self.row
            .try_get(column)
            .map_err(|source| StoreError::Decode {
                table: self.table,
                column: column.to_string(),
                row: self.row_key(),
                source,
            })
    }

    /// The row's key as the error shows it; the key itself may be what is unreadable.
    fn row_key(&self) -> String {
        if let Ok(id) = self.row.try_get::<i64, _>(self.key) {
            format!("{}={id}", self.key)
        } else if let Ok(text) = self.row.try_get::<String, _>(self.key) {
            format!("{}={text:?}", self.key)
        } else {
            format!("with an unreadable {}", self.key)
        }
    }
}

/// A `pricelist` row (id, name, currency), from either database.
pub(super) fn pricelist_from_row<'r, R>(
    row: &'r R,
) -> Result<crate::domain::pricelist::Pricelist, StoreError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + Decode<'r, R::Database>,
    String: Type<R::Database> + Decode<'r, R::Database>,
{
    let cells = Cells::new(row, "pricelist", "pricelist_id");
    Ok(crate::domain::pricelist::Pricelist {
        id: cells.get("pricelist_id")?,
        name: cells.get("name")?,
        currency: cells.get("currency")?,
    })
}

/// When a lease taken at `now` ends. A lease beyond 100 years (`Duration::MAX` means "until
/// released") is 100 years: any later date overflows chrono's or the database's time range.
pub(super) fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    let longest = chrono::Duration::days(365 * 100);
    now + chrono::Duration::from_std(lease).map_or(longest, |lease| lease.min(longest))
}

pub(super) fn run_not_found(run: RunId) -> StoreError {
    StoreError::NotFound {
        what: format!("sync run {run}"),
    }
}

pub(super) fn odoo_datetime(at: NaiveDateTime) -> String {
    at.format(ODOO_DATETIME).to_string()
}

pub(super) fn parse_odoo_datetime(text: &str) -> Result<NaiveDateTime, StoreError> {
    NaiveDateTime::parse_from_str(text, ODOO_DATETIME)
        .map_err(|e| corrupt("write_date", format!("{text:?}: {e}")))
}

/// A watermark `sync_state` row, read back.
pub(super) fn watermark_from_state(
    key: &str,
    value: &str,
) -> Result<(WatermarkKey, Watermark), StoreError> {
    let key = key
        .parse::<WatermarkKey>()
        .map_err(|detail| corrupt("sync_state key", detail))?;
    let mark = NaiveDateTime::parse_from_str(value, ODOO_DATETIME)
        .map_err(|e| corrupt("sync_state value", format!("{value:?}: {e}")))?;
    Ok((key, Watermark(mark)))
}

/// The watermarks in `sync_state`, read the same way from either database.
pub(super) async fn load_watermarks<'e, E, DB>(
    executor: E,
) -> Result<BTreeMap<WatermarkKey, Watermark>, StoreError>
where
    E: sqlx::Executor<'e, Database = DB>,
    DB: sqlx::Database,
    for<'r> (String, String): sqlx::FromRow<'r, DB::Row>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
{
    // The pattern is a constant, so the statement needs no placeholder (whose syntax differs).
    let rows: Vec<(String, String)> =
        sqlx::query_as("select key, value from sync_state where key like 'watermark.%'")
            .fetch_all(executor)
            .await?;
    rows.iter()
        .map(|(key, value)| watermark_from_state(key, value))
        .collect()
}

pub(super) fn session_to_state(session: &OdooSession) -> String {
    serde_json::to_string(session).expect("a session serialises")
}

pub(super) fn session_from_state(text: Option<String>) -> Result<Option<OdooSession>, StoreError> {
    text.map(|text| serde_json::from_str(&text).map_err(|e| corrupt("odoo session", e.to_string())))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_state_names_what_and_the_value() {
        let err = watermark_from_state("watermark.product.template", "yesterday").unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
        let err = watermark_from_state("watermark.nothing", "2026-11-25 10:00:00").unwrap_err();
        assert!(err.to_string().contains("sync_state key"), "{err}");
        let err = session_from_state(Some("{not json".into())).unwrap_err();
        assert!(err.to_string().contains("odoo session"), "{err}");
        assert_eq!(session_from_state(None).unwrap(), None);
    }

    #[test]
    fn odoo_datetimes_round_trip_at_second_precision() {
        let at = parse_odoo_datetime("2026-11-25 10:00:07").unwrap();
        assert_eq!(odoo_datetime(at), "2026-11-25 10:00:07");
        assert!(parse_odoo_datetime("2026-11-25T10:00:07").is_err());
    }
}

/// A variant's prices as both stores' catalog reads encode them: a JSON object from pricelist id
/// (JSON keys are text) to price.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub(super) struct PricesByPricelist(BTreeMap<String, Option<f64>>);

impl PricesByPricelist {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn decode(self) -> Result<BTreeMap<i64, Option<f64>>, StoreError> {
        self.0
            .into_iter()
            .map(|(pricelist, price)| match pricelist.parse() {
                Ok(id) => Ok((id, price)),
                Err(_) => Err(corrupt(
                    "variant price",
                    format!("pricelist id {pricelist:?}"),
                )),
            })
            .collect()
    }
}
