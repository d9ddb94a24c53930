//! Sync runs on SQLite (`RunLedger`): one running at a time, held by a leased owner.

use async_trait::async_trait;

use super::SqliteTime;
use super::*;

#[async_trait]
impl RunLedger for SqliteStore {
    async fn create_run(&self, new: NewRun<'_>) -> Result<SyncRun, StoreError> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        if let Some(running) = running_run_id(&mut tx).await? {
            return Err(StoreError::RunInProgress { running });
        }
        let id: i64 = sqlx::query_scalar(
            "insert into sync_run (mode, trigger, status, total, cursor, lease_owner, lease_until, started_at, updated_at) \
             values (?, ?, 'running', ?, ?, ?, ?, ?, ?) returning sync_run_id",
        )
        .bind(new.mode.as_str())
        .bind(new.trigger.as_str())
        .bind(new.total.map(|t| t as i64))
        .bind(cursor_json(new.cursor))
        .bind(new.owner)
        .bind(lease_until(now, new.lease))
        .bind(SqliteTime(now))
        .bind(SqliteTime(now))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.run(RunId(id))
            .await?
            .ok_or_else(|| run_not_found(RunId(id)))
    }

    async fn claim_run(
        &self,
        run: RunId,
        owner: &str,
        lease: Duration,
        steal_from: Option<&str>,
    ) -> Result<SyncRun, StoreError> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let current = fetch_run(&mut tx, run)
            .await?
            .ok_or_else(|| run_not_found(run))?;
        if let Some((holder, until)) = held_by_other(&mut tx, run, owner, now).await? {
            if steal_from != Some(holder.as_str()) {
                return Err(StoreError::RunLeased {
                    run,
                    owner: holder,
                    until,
                });
            }
        }
        if current.is_finished() {
            return Ok(current);
        }
        sqlx::query("update sync_run set lease_owner = ?, lease_until = ? where sync_run_id = ?")
            .bind(owner)
            .bind(lease_until(now, lease))
            .bind(run.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.run(run).await?.ok_or_else(|| run_not_found(run))
    }

    async fn release_run(&self, run: RunId, owner: &str) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        sqlx::query("update sync_run set lease_owner = null, lease_until = null where sync_run_id = ? and lease_owner = ?")
            .bind(run.0)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn finish_run(
        &self,
        run: RunId,
        status: RunStatus,
        error: Option<&str>,
        watermarks: &BTreeMap<WatermarkKey, Watermark>,
    ) -> Result<SyncRun, StoreError> {
        let now = SqliteTime(Utc::now());
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "update sync_run set status = ?, error = ?, finished_at = ?, updated_at = ?, \
             lease_owner = null, lease_until = null where sync_run_id = ?",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now)
        .bind(now)
        .bind(run.0)
        .execute(&mut *tx)
        .await?;
        for (key, mark) in watermarks {
            save_watermark(&mut tx, *key, *mark).await?;
        }
        tx.commit().await?;
        self.run(run).await?.ok_or_else(|| run_not_found(run))
    }

    async fn record_skipped_run(
        &self,
        mode: SyncMode,
        trigger: Trigger,
        reason: &str,
    ) -> Result<SyncRun, StoreError> {
        let now = SqliteTime(Utc::now());
        let cursor = SyncCursor::start(crate::domain::Phase::Done);
        let id: i64 = sqlx::query_scalar(
            "insert into sync_run (mode, trigger, status, cursor, error, started_at, updated_at, finished_at) \
             values (?, ?, 'skipped', ?, ?, ?, ?, ?) returning sync_run_id",
        )
        .bind(mode.as_str())
        .bind(trigger.as_str())
        .bind(cursor_json(&cursor))
        .bind(reason)
        .bind(now)
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        self.run(RunId(id))
            .await?
            .ok_or_else(|| run_not_found(RunId(id)))
    }

    async fn running_run(&self) -> Result<Option<SyncRun>, StoreError> {
        let row = sqlx::query("select * from sync_run where status = 'running'")
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(sync_run).transpose()
    }

    async fn run(&self, run: RunId) -> Result<Option<SyncRun>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        fetch_run(&mut conn, run).await
    }

    async fn recent_runs(&self, limit: u32) -> Result<Vec<SyncRun>, StoreError> {
        let rows = sqlx::query("select * from sync_run order by sync_run_id desc limit ?")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(sync_run).collect()
    }
}
