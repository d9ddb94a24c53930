//! The webhook inbox on PostgreSQL. Acknowledging a webhook is one insert;
//! claiming is one statement that leases whole records' bursts, with `for update skip locked` so
//! that the workers of several processes never wait on, nor take, each other's events.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::PgPool;

use super::PgStore;
use crate::domain::{NewWebhookEvent, QueueStats, WebhookEvent, WebhookState};
use crate::store::stored::{corrupt, lease_end, Cells};
use crate::store::{
    Coalesce, StoreError, WebhookInbox, CANDIDATE_ROWS_PER_RECORD, CLAIM_EVENTS_PER_RECORD,
};

pub(super) async fn set_state(
    pool: &PgPool,
    ids: &[i64],
    state: &str,
    error: Option<&str>,
    outcome: Option<&str>,
    run_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update webhook_event set state = $1, last_error = coalesce($2, last_error), \
         outcome = coalesce($3, outcome), run_at = coalesce($4, run_at), locked_until = null, \
         updated_at = $5 where webhook_event_id = any($6)",
    )
    .bind(state)
    .bind(error)
    .bind(outcome)
    .bind(run_at)
    .bind(Utc::now())
    .bind(ids)
    .execute(pool)
    .await?;
    Ok(())
}

fn event(row: &PgRow) -> Result<WebhookEvent, StoreError> {
    let cells = Cells::new(row, "webhook_event", "webhook_event_id");
    Ok(WebhookEvent {
        id: cells.get("webhook_event_id")?,
        model: cells.get("model")?,
        record_id: cells.get("record_id")?,
        kind: cells
            .get::<String>("kind")?
            .parse()
            .map_err(|e| corrupt("webhook_event.kind", e))?,
        hinted_write_date: cells.get("hinted_write_date")?,
        payload: cells.get("payload")?,
        state: cells
            .get::<String>("state")?
            .parse()
            .map_err(|e| corrupt("webhook_event.state", e))?,
        attempts: cells.get::<i32>("attempts")? as u32,
        run_at: cells.get("run_at")?,
        last_error: cells.get("last_error")?,
        outcome: cells.get("outcome")?,
        received_at: cells.get("received_at")?,
        updated_at: cells.get("updated_at")?,
    })
}

#[async_trait]
impl WebhookInbox for PgStore {
    async fn enqueue_webhook(&self, event: &NewWebhookEvent) -> Result<i64, StoreError> {
        let pool = &self.pool;
        let id = sqlx::query_scalar(
            "insert into webhook_event (model, record_id, kind, hinted_write_date, payload, state, run_at, received_at, updated_at) \
             values ($1, $2, $3, $4, $5, 'pending', $6, $6, $6) returning webhook_event_id",
        )
        .bind(&event.model)
        .bind(event.record_id)
        .bind(event.kind.as_str())
        .bind(event.hinted_write_date)
        .bind(&event.payload)
        .bind(Utc::now())
        .fetch_one(pool)
        .await?;
        Ok(id)
    }

    /// Leases the pending events of up to `limit` records that are due and quiet, each record's
    /// events all together (see [`Coalesce`]), within [`CLAIM_EVENTS_PER_RECORD`] events per record
    /// as SQLite's claim. Rows another claimer has locked are skipped, and a record of which any
    /// event was skipped is left whole to that claimer: a burst is never split between two workers.
    ///
    /// The candidate records come from the oldest due rows nobody has locked (`skip locked` there
    /// too), so two instances claiming at the same moment take different records instead of one
    /// of them finding every candidate locked and going back to sleep; and a claim costs what its
    /// batch costs, not a group-by of the whole backlog.
    async fn claim_webhooks(
        &self,
        limit: u32,
        lease: Duration,
        coalesce: Coalesce,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let pool = &self.pool;
        let now = Utc::now();
        let ago = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or_default();
        let until = lease_end(now, lease);
        let rows = sqlx::query(
            "with candidate as ( \
                 select distinct model, record_id from ( \
                     select model, record_id from webhook_event \
                     where state = 'pending' and run_at <= $2 \
                     and (locked_until is null or locked_until < $2) \
                     order by run_at limit $7 \
                     for update skip locked) oldest), \
             due as ( \
                 select e.model, e.record_id, count(*) as pending, min(e.run_at) as first_run \
                 from webhook_event e \
                 join candidate c on c.model = e.model and c.record_id = e.record_id \
                 where e.state = 'pending' and (e.locked_until is null or e.locked_until < $2) \
                 group by e.model, e.record_id \
                 having max(e.received_at) <= $4 or min(e.received_at) <= $5 \
                 order by min(e.run_at) limit $3), \
             taken as ( \
                 select e.webhook_event_id, e.model, e.record_id from webhook_event e \
                 join due on due.model = e.model and due.record_id = e.record_id \
                 where e.state = 'pending' and (e.locked_until is null or e.locked_until < $2) \
                 for update of e skip locked), \
             whole as ( \
                 select taken.model, taken.record_id, due.pending, due.first_run from taken \
                 join due on due.model = taken.model and due.record_id = taken.record_id \
                 group by taken.model, taken.record_id, due.pending, due.first_run \
                 having count(*) = due.pending), \
             chosen as ( \
                 select model, record_id from ( \
                     select model, record_id, pending, sum(pending) over ( \
                         order by first_run, model, record_id rows unbounded preceding) as total \
                     from whole) w \
                 where total - pending < $6) \
             update webhook_event set locked_until = $1, attempts = attempts + 1, updated_at = $2 \
             where webhook_event_id in ( \
                 select taken.webhook_event_id from taken \
                 join chosen on chosen.model = taken.model and chosen.record_id = taken.record_id) \
             returning *",
        )
        .bind(until)
        .bind(now)
        .bind(i64::from(limit))
        .bind(ago(coalesce.quiet))
        .bind(ago(coalesce.max_wait))
        .bind(i64::from(limit) * CLAIM_EVENTS_PER_RECORD)
        .bind(i64::from(limit) * CANDIDATE_ROWS_PER_RECORD)
        .fetch_all(pool)
        .await?;
        let mut events = rows.iter().map(event).collect::<Result<Vec<_>, _>>()?;
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    async fn complete_webhooks(&self, ids: &[i64], outcome: &str) -> Result<(), StoreError> {
        set_state(&self.pool, ids, "done", None, Some(outcome), None).await
    }

    async fn reschedule_webhooks(
        &self,
        ids: &[i64],
        run_at: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        set_state(&self.pool, ids, "pending", error, None, Some(run_at)).await
    }

    async fn fail_webhooks(&self, ids: &[i64], error: &str) -> Result<(), StoreError> {
        set_state(&self.pool, ids, "failed", Some(error), Some("failed"), None).await
    }

    async fn webhooks(
        &self,
        state: Option<WebhookState>,
        limit: u32,
    ) -> Result<Vec<WebhookEvent>, StoreError> {
        let pool = &self.pool;
        let rows = sqlx::query(
            "select * from webhook_event where ($1::text is null or state = $1) \
             order by webhook_event_id desc limit $2",
        )
        .bind(state.map(|s| s.as_str()))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
        rows.iter().map(event).collect()
    }

    async fn retry_webhook(&self, id: i64) -> Result<Option<WebhookEvent>, StoreError> {
        let pool = &self.pool;
        let row = sqlx::query(
            "update webhook_event set state = 'pending', attempts = 0, run_at = $1, locked_until = null, \
             outcome = null, updated_at = $1 where webhook_event_id = $2 and state = 'failed' returning *",
        )
        .bind(Utc::now())
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
        let (pending, failed, oldest): (i64, i64, Option<DateTime<Utc>>) = sqlx::query_as(
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
            oldest_pending_at: oldest,
        })
    }

    async fn prune_webhooks(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, StoreError> {
        let pool = &self.pool;
        let deleted = sqlx::query(
            "delete from webhook_event where webhook_event_id in (select webhook_event_id \
             from webhook_event where state = 'done' and updated_at < $1 limit $2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(pool)
        .await?;
        Ok(deleted.rows_affected())
    }
}
