//! Sync runs on PostgreSQL (`RunLedger`): one running at a time, held by a leased owner.

use async_trait::async_trait;

use super::*;

#[async_trait]
impl RunLedger for PgStore {
    async fn create_run(&self, new: NewRun<'_>) -> Result<SyncRun, StoreError> {
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        // Two processes starting a run at once: the second waits here, then sees the first's.
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(RUN_CREATION_LOCK)
            .execute(&mut *tx)
            .await?;
        if let Some(running) = running_run_id(&mut tx).await? {
            return Err(StoreError::RunInProgress { running });
        }
        let inserted = sqlx::query_scalar(
            "insert into sync_run (mode, trigger, status, total, cursor, lease_owner, lease_until, started_at, updated_at) \
             values ($1, $2, 'running', $3, $4, $5, $6, $7, $7) returning sync_run_id",
        )
        .bind(new.mode.as_str())
        .bind(new.trigger.as_str())
        .bind(new.total.map(|t| t as i64))
        .bind(Json(new.cursor))
        .bind(new.owner)
        .bind(lease_end(now, new.lease))
        .bind(now)
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match inserted {
            Ok(id) => id,
            // Only a writer that skipped the lock gets here; the index still says no.
            Err(sqlx::Error::Database(e)) if e.constraint() == Some(ONE_RUNNING_RUN) => {
                drop(tx);
                let running = self.running_run().await?;
                return Err(StoreError::RunInProgress {
                    running: running.map_or(RunId(0), |run| run.id),
                });
            }
            Err(e) => return Err(e.into()),
        };
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
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("select * from sync_run where sync_run_id = $1 for update")
            .bind(run.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| run_not_found(run))?;
        let current = sync_run(&row)?;
        let cells = Cells::new(&row, "sync_run", "sync_run_id");
        let holder: Option<String> = cells.get("lease_owner")?;
        let until: Option<DateTime<Utc>> = cells.get("lease_until")?;
        if let (Some(holder), Some(until)) = (holder, until) {
            if holder != owner && until > now && steal_from != Some(holder.as_str()) {
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
        sqlx::query(
            "update sync_run set lease_owner = $1, lease_until = $2 where sync_run_id = $3",
        )
        .bind(owner)
        .bind(lease_end(now, lease))
        .bind(run.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.run(run).await?.ok_or_else(|| run_not_found(run))
    }

    async fn release_run(&self, run: RunId, owner: &str) -> Result<(), StoreError> {
        sqlx::query(
            "update sync_run set lease_owner = null, lease_until = null \
             where sync_run_id = $1 and lease_owner = $2",
        )
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
        let now = Utc::now();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "update sync_run set status = $1, error = $2, finished_at = $3, updated_at = $3, \
             lease_owner = null, lease_until = null where sync_run_id = $4",
        )
        .bind(status.as_str())
        .bind(error)
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
        let now = Utc::now();
        let cursor = SyncCursor::start(crate::domain::Phase::Done);
        let id: i64 = sqlx::query_scalar(
            "insert into sync_run (mode, trigger, status, cursor, error, started_at, updated_at, finished_at) \
             values ($1, $2, 'skipped', $3, $4, $5, $5, $5) returning sync_run_id",
        )
        .bind(mode.as_str())
        .bind(trigger.as_str())
        .bind(Json(&cursor))
        .bind(reason)
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
        let row = sqlx::query("select * from sync_run where sync_run_id = $1")
            .bind(run.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(sync_run).transpose()
    }

    async fn recent_runs(&self, limit: u32) -> Result<Vec<SyncRun>, StoreError> {
        let rows = sqlx::query("select * from sync_run order by sync_run_id desc limit $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(sync_run).collect()
    }
}
