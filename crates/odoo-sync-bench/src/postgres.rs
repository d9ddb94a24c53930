//! The PostgreSQL store under the same measurements as SQLite: a fresh database per catalog on
//! `TEST_DATABASE_URL`'s server (by default the local one), dropped when the run ends. Without a
//! reachable server, the PostgreSQL rows say why they are missing and the rest of the run goes on.

use anyhow::Context as _;
use odoo_sync::testkit::ScratchDatabase;
use sqlx::Connection as _;

use crate::case::Target;
use crate::sim::sync_unmeasured;

/// A fresh, empty database and `target` pointed at it.
pub struct Database {
    /// Dropping it drops the database.
    _scratch: ScratchDatabase,
    pub target: Target,
}

impl Database {
    pub async fn empty(target: &Target) -> anyhow::Result<Database> {
        let scratch = ScratchDatabase::create()
            .await
            .context("no PostgreSQL to create a database in")?;
        let target = Target {
            database_url: Some(scratch.url.clone()),
            ..target.clone()
        };
        Ok(Database {
            _scratch: scratch,
            target,
        })
    }

    /// A fresh database holding the simulator's catalog, synced unmeasured with the latency
    /// model off.
    pub async fn synced(sim: &odoo_sim::Sim, target: &Target) -> anyhow::Result<Database> {
        let database = Database::empty(target).await?;
        eprintln!("PostgreSQL: syncing the catalog (not measured)…");
        sync_unmeasured(sim, &database.target, true).await?;
        Ok(database)
    }

    /// An incremental sync, unmeasured with the latency model off, so that what another store's
    /// section changed in the simulator is not counted in this one's.
    pub async fn catch_up(&self, sim: &odoo_sim::Sim) -> anyhow::Result<()> {
        sync_unmeasured(sim, &self.target, false).await
    }

    /// The planner's statistics, as autovacuum would gather them within a minute of a load:
    /// measured without them, plans depend on whether it ran yet.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        let url = self.target.database_url.as_deref().unwrap_or_default();
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query("analyze").execute(&mut conn).await?;
        conn.close().await?;
        Ok(())
    }
}

/// Why PostgreSQL rows are missing, for the table and the JSON.
pub fn unavailable(error: &anyhow::Error) -> String {
    eprintln!("PostgreSQL rows not measured: {error:#}");
    format!("n/a: {error:#}")
}
