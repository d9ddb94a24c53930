//! The long-lived side of the engine inside `serve`: one run at a time in this process, runs in
//! the background, progress broadcast to whoever listens (SSE), and a clean stop that lets the
//! running batch commit.

use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Progress, ProgressObserver, StepOutcome, SyncEngine, SyncError, SyncRequest};
use crate::domain::{RunId, SyncRun};

/// What listeners hear: a committed batch, or the end of a run.
#[derive(Debug, Clone)]
pub enum RunEvent {
    Progress(Progress),
    Finished(Box<SyncRun>),
}

#[derive(Clone)]
pub struct SyncService {
    inner: Arc<Inner>,
}

struct Inner {
    engine: SyncEngine,
    events: broadcast::Sender<RunEvent>,
    active: Mutex<Option<RunId>>,
    tasks: TaskTracker,
    cancel: CancellationToken,
}

struct Broadcast<'a>(&'a broadcast::Sender<RunEvent>);

impl ProgressObserver for Broadcast<'_> {
    fn update(&self, progress: &Progress) {
        // No listener is fine: progress is also in the store.
        let _ = self.0.send(RunEvent::Progress(progress.clone()));
    }
}

/// Marks a run active in this process for as long as it lives.
struct ActiveGuard {
    inner: Arc<Inner>,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        *self.inner.active.lock().expect("active lock") = None;
    }
}

impl SyncService {
    pub fn new(engine: SyncEngine, cancel: CancellationToken) -> Self {
        let (events, _) = broadcast::channel(256);
        let inner = Inner {
            engine,
            events,
            active: Mutex::new(None),
            tasks: TaskTracker::new(),
            cancel,
        };
        SyncService {
            inner: Arc::new(inner),
        }
    }

    pub fn engine(&self) -> &SyncEngine {
        &self.inner.engine
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RunEvent> {
        self.inner.events.subscribe()
    }

    /// The run this process is working on right now, if any.
    pub fn active_run(&self) -> Option<RunId> {
        *self.inner.active.lock().expect("active lock")
    }

    /// Starts a whole run in the background and returns it as soon as it is stored.
    pub async fn start(&self, request: SyncRequest) -> Result<SyncRun, SyncError> {
        let guard = self.reserve()?;
        let run = self.inner.engine.begin(request).await?;
        *self.inner.active.lock().expect("active lock") = Some(run.id);
        let inner = self.inner.clone();
        let started = run.clone();
        self.inner.tasks.spawn(async move {
            let _guard = guard;
            let observer = Broadcast(&inner.events);
            match inner
                .engine
                .drive(run, u64::MAX, &observer, &inner.cancel)
                .await
            {
                Ok(run) => {
                    let _ = inner.events.send(RunEvent::Finished(Box::new(run)));
                }
                Err(error) => {
                    tracing::warn!(%error, "background sync run ended with an error");
                    if let Ok(Some(run)) = inner.engine.store().run(started.id).await {
                        let _ = inner.events.send(RunEvent::Finished(Box::new(run)));
                    }
                }
            }
        });
        Ok(started)
    }

    /// One progressive step, run while the caller waits.
    pub async fn step(
        &self,
        request: SyncRequest,
        limit: u64,
        cursor: Option<&str>,
    ) -> Result<StepOutcome, SyncError> {
        let _guard = self.reserve()?;
        let observer = Broadcast(&self.inner.events);
        let outcome = self
            .inner
            .engine
            .step(request, limit, cursor, &observer)
            .await?;
        if outcome.done {
            let _ = self
                .inner
                .events
                .send(RunEvent::Finished(Box::new(outcome.run.clone())));
        }
        Ok(outcome)
    }

    fn reserve(&self) -> Result<ActiveGuard, SyncError> {
        let mut active = self.inner.active.lock().expect("active lock");
        if let Some(running) = *active {
            return Err(SyncError::RunInProgress { running });
        }
        // A placeholder until the run has an id: no second request slips in meanwhile.
        *active = Some(RunId(0));
        Ok(ActiveGuard {
            inner: self.inner.clone(),
        })
    }

    /// Stops background runs after their current batch and waits for them.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }
}
