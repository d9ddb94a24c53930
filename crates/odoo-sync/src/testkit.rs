//! Test support, outside the production build (the crate's own tests, or the `testkit` feature
//! for the integration tests and the benchmark).
//!
//! Fresh PostgreSQL databases for tests and the benchmark: each gets a database of its own,
//! created through an existing one and dropped (best effort) when the value is dropped, so tests
//! never see each other's rows and nothing mocks the database.

use sqlx::{Connection, Executor, PgConnection};

/// Where scratch databases are created from, unless `TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct ScratchDatabase {
    /// The new database's URL, for `DATABASE_URL` or [`crate::store::PgStore::connect`].
    pub url: String,
    name: String,
    admin_url: String,
}

impl ScratchDatabase {
    /// Creates `odoo_sync_test_<random>` on the server of `TEST_DATABASE_URL` (default
    /// [`DEFAULT_ADMIN_URL`]).
    pub async fn create() -> Result<ScratchDatabase, sqlx::Error> {
        let admin_url =
            std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string());
        let name = format!("odoo_sync_test_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::connect(&admin_url).await?;
        admin
            .execute(format!("create database {name}").as_str())
            .await?;
        admin.close().await?;
        Ok(ScratchDatabase {
            url: with_database(&admin_url, &name),
            name,
            admin_url,
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime (or during a panic): drop the database from a thread
        // with a runtime of its own. `with (force)` ends connections a pool still holds.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                let sql = format!("drop database if exists {name} with (force)");
                admin.execute(sql.as_str()).await.ok()?;
                admin.close().await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// `url` with its database (the path) replaced by `name`, query parameters kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |at| at + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |at| authority + at);
    format!("{}/{name}{query}", &base[..path])
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced_and_its_parameters_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgresql://u:p@db/test?sslmode=disable", "x"),
            "postgresql://u:p@db/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://db", "x"), "postgres://db/x");
    }
}
