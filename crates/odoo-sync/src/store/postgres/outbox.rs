//! The site outbox on PostgreSQL (`SiteOutbox`): events queued in the catalog write's
//! transaction; several instances claim due deliveries with `for update skip locked` and a lease,
//! so each delivery is sent by one of them.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::PgConnection;

use super::{json_column, PgStore};
use crate::domain::site_event::{
    change_token, new_event_id, AttemptOutcome, CatalogChange, DeliveryStatus, SiteDelivery,
};
use crate::domain::QueueStats;
use crate::store::stored::{corrupt, lease_end, Cells};
use crate::store::{SiteOutbox, SiteTargets, StoreError};

/// Queues the events of `change` for every target, in the caller's catalog write (which holds
/// the catalog version row, so the feed's newest `change_seq` read here is this write's).
pub(super) async fn queue_site_change(
    conn: &mut PgConnection,
    targets: &SiteTargets,
    mut change: CatalogChange,
) -> Result<bool, StoreError> {
    if targets.urls.is_empty() || change.is_empty() {
        return Ok(false);
    }
    let rows = sqlx::query(
        "select product_id, category_id, public_categ_ids from product where product_id = any($1)",
    )
    .bind(change.product_ids())
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
    let bodies = change.event_bodies(&change_token(seq));
    let mut events = Vec::new();
    let mut urls = Vec::new();
    let mut texts = Vec::new();
    for body in &bodies {
        let event_id = new_event_id();
        for url in &targets.urls {
            events.push(event_id.clone());
            urls.push(url.as_str());
            texts.push(body.as_str());
        }
    }
    sqlx::query(
        "insert into site_outbox (event_id, url, body, next_at, created_at, updated_at) \
         select e.*, $4, $4, $4 from unnest($1::text[], $2::text[], $3::text[]) as e(event_id, url, body)",
    )
    .bind(&events)
    .bind(&urls)
    .bind(&texts)
    .bind(Utc::now())
    .execute(&mut *conn)
    .await?;
    Ok(!events.is_empty())
}

fn delivery(row: &PgRow) -> Result<SiteDelivery, StoreError> {
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
        attempts: cells.get::<i32>("attempts")? as u32,
        next_at: cells.get("next_at")?,
        last_status: cells.get::<Option<i32>>("last_status")?.map(|s| s as u16),
        last_error: cells.get("last_error")?,
        created_at: cells.get("created_at")?,
        delivered_at: cells.get("delivered_at")?,
    })
}

#[async_trait]
impl SiteOutbox for PgStore {
    fn site_targets(&self) -> std::sync::Arc<SiteTargets> {
        self.site.clone()
    }

    async fn claim_site_deliveries(
        &self,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<SiteDelivery>, StoreError> {
        let now = Utc::now();
        let rows = sqlx::query(
            "with due as ( \
               select site_outbox_id from site_outbox where status = 'pending' and next_at <= $2 \
               and (locked_until is null or locked_until <= $2) \
               order by next_at, site_outbox_id limit $3 for update skip locked) \
             update site_outbox set locked_until = $1, updated_at = $2 from due \
             where site_outbox.site_outbox_id = due.site_outbox_id returning site_outbox.*",
        )
        .bind(lease_end(now, lease))
        .bind(now)
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
        let now = Utc::now();
        let delivered = (status == DeliveryStatus::Delivered).then_some(now);
        sqlx::query(
            "update site_outbox set status = $1, attempts = attempts + 1, next_at = coalesce($2, next_at), \
             last_status = $3, last_error = $4, locked_until = null, delivered_at = $5, updated_at = $6 \
             where site_outbox_id = $7 and status = 'pending'",
        )
        .bind(status.as_str())
        .bind(outcome.next_at())
        .bind(outcome.answer_status().map(i32::from))
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
            "select * from site_outbox where ($1::text is null or status = $1) \
             order by site_outbox_id limit $2",
        )
        .bind(status.map(DeliveryStatus::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery).collect()
    }

    async fn site_outbox_stats(&self) -> Result<QueueStats, StoreError> {
        let (pending, failed, oldest): (i64, i64, Option<DateTime<Utc>>) = sqlx::query_as(
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
            oldest_pending_at: oldest,
        })
    }

    async fn prune_site_deliveries(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let deleted = sqlx::query(
            "delete from site_outbox where site_outbox_id in (select site_outbox_id \
             from site_outbox where status = 'delivered' and delivered_at < $1 limit $2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected())
    }

    async fn replay_site_delivery(&self, id: i64) -> Result<Option<SiteDelivery>, StoreError> {
        let row = sqlx::query(
            "update site_outbox set status = 'pending', attempts = 0, next_at = $1, \
             locked_until = null, updated_at = $1 where site_outbox_id = $2 and status = 'failed' \
             returning *",
        )
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let replayed = row.as_ref().map(delivery).transpose()?;
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
