//! Shared reads of the catalog version. Each request needs a version read that started after it
//! arrived (so that it reflects every write committed before), but not one of its own: all the
//! requests waiting when a read starts share it. Under load one statement, and one hand-off to
//! the database's thread, serves a burst of requests instead of one each.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::store::{CatalogStore, StoreError};

#[derive(Default)]
pub struct VersionReads {
    waiting: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    /// A reader task is running; it takes `next` when its current read ends.
    reading: bool,
    /// Requests that arrived after the running read started.
    next: Vec<oneshot::Sender<Option<i64>>>,
}

impl VersionReads {
    pub async fn current(
        self: &Arc<Self>,
        store: &Arc<dyn CatalogStore>,
    ) -> Result<i64, StoreError> {
        let (sender, receiver) = oneshot::channel();
        let start_reader = {
            let mut waiting = self.waiting.lock().expect("never poisoned");
            waiting.next.push(sender);
            !std::mem::replace(&mut waiting.reading, true)
        };
        if start_reader {
            // A task of its own: a request that goes away must not strand the others.
            tokio::spawn(self.clone().read_for_waiters(store.clone()));
        }
        match receiver.await {
            Ok(Some(version)) => Ok(version),
            // The shared read failed: this request reads alone, to get its own error.
            _ => store.catalog_version().await,
        }
    }

    async fn read_for_waiters(self: Arc<Self>, store: Arc<dyn CatalogStore>) {
        loop {
            let batch = {
                let mut waiting = self.waiting.lock().expect("never poisoned");
                if waiting.next.is_empty() {
                    waiting.reading = false;
                    return;
                }
                std::mem::take(&mut waiting.next)
            };
            let version = store.catalog_version().await.ok();
            for waiter in batch {
                let _ = waiter.send(version);
            }
        }
    }
}
