//! Shared reads of the catalog version. Each caller needs a version read that started after it
//! asked (so that it reflects every write committed before), but not one of its own: all the
//! callers waiting when a read starts share it. A faceted page asks three times (its ETag, its
//! `attr=` grouping, its facet index); under load one statement, and one hand-off to the
//! database's thread, serves a burst of them instead of one each.

use std::future::Future;
use std::sync::{Arc, Mutex};

use sqlx::{ColumnIndex, Database, Decode, Executor, IntoArguments, Pool, Type};
use tokio::sync::oneshot;

use super::StoreError;

#[derive(Debug, Default)]
pub struct VersionReads {
    waiting: Mutex<Waiting>,
}

#[derive(Debug, Default)]
struct Waiting {
    /// A reader task is running; it takes `next` when its current read ends.
    reading: bool,
    /// Callers that asked after the running read started.
    next: Vec<oneshot::Sender<Option<i64>>>,
}

impl VersionReads {
    /// The version as read by `read` (the store's statement) once this call started.
    pub async fn current<F, Fut>(self: &Arc<Self>, read: F) -> Result<i64, StoreError>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<i64, StoreError>> + Send + 'static,
    {
        let (sender, receiver) = oneshot::channel();
        let start_reader = {
            let mut waiting = self.waiting.lock().expect("never poisoned");
            waiting.next.push(sender);
            !std::mem::replace(&mut waiting.reading, true)
        };
        let read = Arc::new(read);
        if start_reader {
            // A task of its own: a caller that goes away must not strand the others.
            tokio::spawn(self.clone().read_for_waiters(read.clone()));
        }
        match receiver.await {
            Ok(Some(version)) => Ok(version),
            // The shared read failed: this caller reads alone, to get its own error.
            _ => read().await,
        }
    }

    /// The catalog version in `pool`'s database, read as [`Self::current`] does.
    pub async fn of_pool<DB>(self: &Arc<Self>, pool: &Pool<DB>) -> Result<i64, StoreError>
    where
        DB: Database,
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
        i64: Type<DB> + for<'r> Decode<'r, DB>,
        usize: ColumnIndex<DB::Row>,
    {
        let pool = pool.clone();
        self.current(move || {
            let pool = pool.clone();
            async move {
                Ok(sqlx::query_scalar(super::facet_index::VERSION_SQL)
                    .fetch_one(&pool)
                    .await?)
            }
        })
        .await
    }

    async fn read_for_waiters<F, Fut>(self: Arc<Self>, read: Arc<F>)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<i64, StoreError>> + Send + 'static,
    {
        loop {
            let batch = {
                let mut waiting = self.waiting.lock().expect("never poisoned");
                if waiting.next.is_empty() {
                    waiting.reading = false;
                    return;
                }
                std::mem::take(&mut waiting.next)
            };
            let version = read().await.ok();
            for waiter in batch {
                let _ = waiter.send(version);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn callers_waiting_together_share_a_read_that_started_after_they_asked() {
        let reads = Arc::new(VersionReads::default());
        let version = Arc::new(AtomicI64::new(0));
        let statements = Arc::new(AtomicI64::new(0));
        let read = {
            let (version, statements) = (version.clone(), statements.clone());
            move || {
                let (version, statements) = (version.clone(), statements.clone());
                async move {
                    statements.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(version.load(Ordering::SeqCst))
                }
            }
        };
        let callers: Vec<_> = (0..10)
            .map(|_| {
                let (reads, read) = (reads.clone(), read.clone());
                tokio::spawn(async move { reads.current(read).await })
            })
            .collect();
        for caller in callers {
            assert_eq!(caller.await.unwrap().unwrap(), 0);
        }
        assert!(
            statements.load(Ordering::SeqCst) <= 2,
            "shared, not one each"
        );
        // A write committed before a call is seen by it.
        version.store(7, Ordering::SeqCst);
        assert_eq!(reads.current(read).await.unwrap(), 7);
    }
}
