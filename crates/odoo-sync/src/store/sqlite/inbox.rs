//! The webhook inbox on SQLite. Acknowledging a webhook is one insert; claiming
//! is one `update … returning` with a lease, so a worker that dies leaves its events to the next.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{SqliteConnection, SqlitePool};

use super::SqliteStore;
use super::SqliteTime;
use crate::domain::{NewWebhookEvent, QueueStats, WebhookEvent, WebhookState};
use crate::store::stored::{corrupt, lease_end, Cells};
use crate::store::{
    Coalesce, StoreError, WebhookInbox, CANDIDATE_ROWS_PER_RECORD, CLAIM_EVENTS_PER_RECORD,
};

const MICROS: &str = "%Y-%m-%d %H:%M:%S%.6f";

pub(super) async fn set_state(
    pool: &SqlitePool,
    ids: &[i64],
    state: &str,
    error: Option<&str>,
    outcome: Option<&str>,
    run_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let now = SqliteTime(Utc::now());
    sqlx::query(
        "update webhook_event set state = ?, last_error = coalesce(?, last_error), outcome = coalesce(?, outcome), \
         run_at = coalesce(?, run_at), locked_until = null, updated_at = ? \
         where webhook_event_id in (select value from json_each(?))",
    )
    .bind(state)
    .bind(error)
    .bind(outcome)
    .bind(run_at.map(SqliteTime))
    .bind(now)
    .bind(serde_json::to_string(ids).expect("ids serialise"))
    .execute(pool)
    .await?;
    Ok(())
}

fn event(row: &SqliteRow) -> Result<WebhookEvent, StoreError> {
    let cells = Cells::new(row, "webhook_event", "webhook_event_id");
    let hinted: Option<String> = cells.get("hinted_write_date")?;
    Ok(WebhookEvent {
        id: cells.get("webhook_event_id")?,
        model: cells.get("model")?,
        record_id: cells.get("record_id")?,
        kind: cells
            .get::<String>("kind")?
            .parse()
            .map_err(|e| corrupt("webhook_event.kind", e))?,
        hinted_write_date: hinted
            .map(|text| {
                NaiveDateTime::parse_from_str(&text, MICROS)
                    .map_err(|e| corrupt("webhook_event.hinted_write_date", e.to_string()))
            })
            .transpose()?,
        payload: cells.get("payload")?,
        state: cells
            .get::<String>("state")?
            .parse()
            .map_err(|e| corrupt("webhook_event.state", e))?,
        attempts: cells.get::<i64>("attempts")? as u32,
        run_at: cells.get::<SqliteTime>("run_at")?.0,
        last_error: cells.get("last_error")?,
        outcome: cells.get("outcome")?,
        received_at: cells.get::<SqliteTime>("received_at")?.0,
        updated_at: cells.get::<SqliteTime>("updated_at")?.0,
    })
}

#[async_trait]
impl WebhookInbox for SqliteStore {
    async fn enqueue_webhook(&self, event: &NewWebhookEvent) -> Result<i64, StoreError> {
        let _gate = self.gate().await;
        let pool = &self.pool;
        let now = SqliteTime(Utc::now());
        let id = sqlx::query_scalar(
            "insert into webhook_event (model, record_id, kind, hinted_write_date, payload, state, run_at, received_at, updated_at) \
             values (?, ?, ?, ?, ?, 'pending', ?, ?, ?) returning webhook_event_id",
        )
        .bind(&event.model)
        .bind(event.record_id)
        .bind(event.kind.as_str())
        .bind(event.hinted_write_date.map(|at| at.format(MICROS).to_string()))
        .bind(&event.payload)
        .bind(now)
        .bind(now)
        .bind(now)
        .fetch_one(pool)
        .await?;
        Ok(id)
    }

    /// Leases the pending events of up to `limit` records that are due and quiet, each record's
    /// events all together (see [`Coalesce`]), within [`CLAIM_EVENTS_PER_RECORD`] events per record.
    async fn claim_webhooks(
        &self,
        limit: u32,
        lease: Duration,
        coalesce: Coalesce,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let mut tx = self.begin_write().await?;
        let conn: &mut SqliteConnection = &mut tx;
        let now = Utc::now();
        let ago = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or_default();
        let until = lease_end(now, lease);
        // The candidates are the records of the oldest due rows, read from `(state, run_at)` in
        // order, and the rows taken are bounded: a claim costs what its batch costs, not what the
        // backlog holds (claiming 200 records of a 10k backlog held the write lock for 40-70 ms,
        // stalling every acknowledgement behind it).
        let rows = sqlx::query(
            "with candidate as ( \
                 select distinct model, record_id from ( \
                     select model, record_id from webhook_event \
                     where state = 'pending' and run_at <= ?2 \
                     and (locked_until is null or locked_until < ?2) \
                     order by run_at limit ?6)), \
             due as ( \
                 select e.model, e.record_id, min(e.run_at) as first_run, count(*) as events \
                 from webhook_event e \
                 join candidate c on c.model = e.model and c.record_id = e.record_id \
                 where e.state = 'pending' and (e.locked_until is null or e.locked_until < ?2) \
                 group by e.model, e.record_id \
                 having max(e.received_at) <= ?4 or min(e.received_at) <= ?5 \
                 order by first_run limit ?3), \
             running as ( \
                 select model, record_id, events, sum(events) over ( \
                     order by first_run, model, record_id rows unbounded preceding) as total \
                 from due), \
             chosen as (select model, record_id from running where total - events < ?7) \
             update webhook_event set locked_until = ?1, attempts = attempts + 1, updated_at = ?2 \
             where state = 'pending' and (locked_until is null or locked_until < ?2) \
             and (model, record_id) in (select model, record_id from chosen) \
             returning *",
        )
        .bind(SqliteTime(until))
        .bind(SqliteTime(now))
        .bind(i64::from(limit))
        .bind(SqliteTime(ago(coalesce.quiet)))
        .bind(SqliteTime(ago(coalesce.max_wait)))
        .bind(i64::from(limit) * CANDIDATE_ROWS_PER_RECORD)
        .bind(i64::from(limit) * CLAIM_EVENTS_PER_RECORD)
        .fetch_all(&mut *conn)
        .await?;
        let mut events = rows.iter().map(event).collect::<Result<Vec<_>, _>>()?;
        events.sort_by_key(|e| e.id);
        tx.commit().await?;
        Ok(events)
    }

    async fn complete_webhooks(&self, ids: &[i64], outcome: &str) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        set_state(&self.pool, ids, "done", None, Some(outcome), None).await
    }

    async fn reschedule_webhooks(
        &self,
        ids: &[i64],
        run_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        set_state(&self.pool, ids, "pending", error, None, Some(run_at)).await
    }

    async fn fail_webhooks(&self, ids: &[i64], error: &str) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        set_state(&self.pool, ids, "failed", Some(error), Some("failed"), None).await
    }

    async fn webhooks(
        &self,
        state: Option<WebhookState>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let pool = &self.pool;
        let rows = sqlx::query("select * from webhook_event where (?1 is null or state = ?1) order by webhook_event_id desc limit ?2")
            .bind(state.map(|s| s.as_str()))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
        rows.iter().map(event).collect()
    }

    async fn retry_webhook(&self, id: i64) -> Result<Option<WebhookEvent>, StoreError> {
        let _gate = self.gate().await;
        let pool = &self.pool;
        let now = SqliteTime(Utc::now());
        let row = sqlx::query(
            "update webhook_event set state = 'pending', attempts = 0, run_at = ?, locked_until = null, outcome = null, \
             updated_at = ? where webhook_event_id = ? and state = 'failed' returning *",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .fetch_optional(pool)
        .await?;
        row.as_ref().map(event).transpose()
    }

    async fn webhook_backlog(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("select count(*) from webhook_event where state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(count as u64)
    }

    async fn webhook_inbox_stats(&self) -> Result<QueueStats, StoreError> {
        let (pending, failed, oldest): (i64, i64, Option<SqliteTime>) = sqlx::query_as(
            "select coalesce(sum(case when state = 'pending' then 1 else 0 end), 0), \
             coalesce(sum(case when state = 'failed' then 1 else 0 end), 0), \
             min(case when state = 'pending' then received_at end) \
             from webhook_event where state in ('pending', 'failed')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(QueueStats {
            pending: pending as u64,
            failed: failed as u64,
            oldest_pending_at: oldest.map(|at| at.0),
        })
    }

    async fn prune_webhooks(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        let _gate = self.gate().await;
        let pool = &self.pool;
        let deleted = sqlx::query(
            "delete from webhook_event where webhook_event_id in (select webhook_event_id \
             from webhook_event where state = 'done' and updated_at < ? limit ?)",
        )
        .bind(SqliteTime(before))
        .bind(i64::from(limit))
        .execute(pool)
        .await?;
        Ok(deleted.rows_affected())
    }
}
