//! The site outbox on SQLite (`SiteOutbox`): events queued in the catalog write's transaction,
//! claims and outcomes under the store's write gate (SQLite has one writer and no `SKIP LOCKED`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

use super::{json_column, SqliteStore, SqliteTime};
use crate::domain::site_event::{
    change_token, new_event_id, AttemptOutcome, CatalogChange, DeliveryStatus, SiteDelivery,
};
use crate::domain::QueueStats;
use crate::store::stored::{corrupt, lease_end, Cells};
use crate::store::{SiteOutbox, SiteTargets, StoreError};

/// Queues the events of `change` for every target, in the caller's transaction; returns whether
/// any row was written. Reads the changed products' categories and the feed's newest
/// `change_seq` as the transaction sees them, after its writes.
pub(super) async fn queue_site_change(
    conn: &mut SqliteConnection,
    targets: &SiteTargets,
    mut change: CatalogChange,
) -> Result<bool, StoreError> {
    if targets.urls.is_empty() || change.is_empty() {
        return Ok(false);
    }
    let ids = serde_json::to_string(&change.product_ids()).expect("ids serialise");
    let rows = sqlx::query(
        "select product_id, category_id, public_categ_ids from product \
         where product_id in (select value from json_each(?))",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let cells = Cells::new(row, "product", "product_id");
        let public: Vec<i64> = json_column(&cells, "public_categ_ids")?;
        change.add_product_categories(cells.get("product_id")?, cells.get("category_id")?, &public);
    }
    let seq: i64 = sqlx::query_scalar("select coalesce(max(change_seq), 0) from product")
        .fetch_one(&mut *conn)
        .await?;
    let now = SqliteTime(Utc::now());
    let mut queued = false;
    for body in change.event_bodies(&change_token(seq)) {
        let event_id = new_event_id();
        for url in &targets.urls {
            sqlx::query(
                "insert into site_outbox (event_id, url, body, next_at, created_at, updated_at) \
                 values (?, ?, ?, ?, ?, ?)",
            )
            .bind(&event_id)
            .bind(url)
            .bind(&body)
            .bind(now)
            .bind(now)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            queued = true;
        }
    }
    Ok(queued)
}

fn delivery(row: &SqliteRow) -> Result<SiteDelivery, StoreError> {
    let cells = Cells::new(row, "site_outbox", "site_outbox_id");
    let status: String = cells.get("status")?;
    Ok(SiteDelivery {
        id: cells.get("site_outbox_id")?,
        event_id: cells.get("event_id")?,
        url: cells.get("url")?,
        body: cells.get("body")?,
        status: status
            .parse()
            .map_err(|e| corrupt("site_outbox.status", e))?,
        attempts: cells.get::<i64>("attempts")? as u32,
        next_at: cells.get::<SqliteTime>("next_at")?.0,
        last_status: cells.get::<Option<i64>>("last_status")?.map(|s| s as u16),
        last_error: cells.get("last_error")?,
        created_at: cells.get::<SqliteTime>("created_at")?.0,
        delivered_at: cells
            .get::<Option<SqliteTime>>("delivered_at")?
            .map(|at| at.0),
    })
}

#[async_trait]
impl SiteOutbox for SqliteStore {
    fn site_targets(&self) -> std::sync::Arc<SiteTargets> {
        self.site.clone()
    }

    async fn claim_site_deliveries(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<SiteDelivery>, StoreError> {
        let _gate = self.gate().await;
        let now = Utc::now();
        let rows = sqlx::query(
            "update site_outbox set locked_until = ?1, updated_at = ?2 where site_outbox_id in ( \
               select site_outbox_id from site_outbox where status = 'pending' and next_at <= ?2 \
               and (locked_until is null or locked_until <= ?2) \
               order by next_at, site_outbox_id limit ?3) \
             returning *",
        )
        .bind(SqliteTime(lease_end(now, lease)))
        .bind(SqliteTime(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = rows.iter().map(delivery).collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|d| (d.next_at, d.id));
        Ok(claimed)
    }

    async fn settle_site_delivery(
        &self,
        id: i64,
        outcome: AttemptOutcome<'_>,
    ) -> Result<(), StoreError> {
        let status = outcome.status();
        let _gate = self.gate().await;
        let now = SqliteTime(Utc::now());
        let delivered = (status == DeliveryStatus::Delivered).then_some(now);
        sqlx::query(
            "update site_outbox set status = ?, attempts = attempts + 1, next_at = coalesce(?, next_at), \
             last_status = ?, last_error = ?, locked_until = null, delivered_at = ?, updated_at = ? \
             where site_outbox_id = ? and status = 'pending'",
        )
        .bind(status.as_str())
        .bind(outcome.next_at().map(SqliteTime))
        .bind(outcome.answer_status().map(i64::from))
        .bind(outcome.error())
        .bind(delivered)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn site_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        limit: u32,
    ) -> Result<Vec<SiteDelivery>, StoreError> {
        let rows = sqlx::query(
            "select * from site_outbox where (?1 is null or status = ?1) \
             order by site_outbox_id limit ?2",
        )
        .bind(status.map(DeliveryStatus::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery).collect()
    }

    async fn site_outbox_stats(&self) -> Result<QueueStats, StoreError> {
        let (pending, failed, oldest): (i64, i64, Option<SqliteTime>) = sqlx::query_as(
            "select coalesce(sum(case when status = 'pending' then 1 else 0 end), 0), \
             coalesce(sum(case when status = 'failed' then 1 else 0 end), 0), \
             min(case when status = 'pending' then created_at end) \
             from site_outbox where status in ('pending', 'failed')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueStats {
            pending: pending as u64,
            failed: failed as u64,
            oldest_pending_at: oldest.map(|at| at.0),
        })
    }

    async fn prune_site_deliveries(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let _gate = self.gate().await;
        let deleted = sqlx::query(
            "delete from site_outbox where site_outbox_id in (select site_outbox_id \
             from site_outbox where status = 'delivered' and delivered_at < ? limit ?)",
        )
        .bind(SqliteTime(before))
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    async fn replay_site_delivery(&self, id: i64) -> Result<Option<SiteDelivery>, StoreError> {
        let replayed = {
            let _gate = self.gate().await;
            let now = SqliteTime(Utc::now());
            let row = sqlx::query(
                "update site_outbox set status = 'pending', attempts = 0, next_at = ?1, \
                 locked_until = null, updated_at = ?1 where site_outbox_id = ?2 and status = 'failed' \
                 returning *",
            )
            .bind(now)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map(delivery).transpose()?
        };
        self.site.rung(replayed.is_some());
        Ok(replayed)
    }

    async fn failed_site_deliveries(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("select count(*) from site_outbox where status = 'failed'")
                .fetch_one(&self.pool)
                .await?;
        Ok(count as u64)
    }
}
