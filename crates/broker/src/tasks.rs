//! Tasks the broker owns. Every task a broker component starts goes into a
//! [`Tasks`] set under a name, so that shutdown waits for each of them (and
//! says which one did not stop) instead of leaving detached tasks running past
//! the broker's end.
//!
//! Two ways to end a set: [`Tasks::join`] waits for tasks that stop on their
//! own (the broker's loops, which watch the broker's stop signal);
//! [`Tasks::cancel_and_join`] first cancels every task at its next await point
//! (short-lived helpers — a heartbeat send, a delayed group initialization —
//! that have nothing to finish once the groups are closed).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Finished,
    Cancelled,
}

/// A cloneable handle to a set of owned tasks.
#[derive(Clone)]
pub struct Tasks {
    set: Arc<Mutex<JoinSet<(&'static str, End)>>>,
    cancel: watch::Sender<bool>,
}

impl Default for Tasks {
    fn default() -> Self {
        Self {
            set: Arc::default(),
            cancel: watch::channel(false).0,
        }
    }
}

impl Tasks {
    /// Runs `task` in the background under `name`.
    pub fn spawn<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut cancel = self.cancel.subscribe();
        let mut set = self.set.lock().expect("task set lock");
        // Reap finished tasks so that short-lived ones do not pile up.
        while set.try_join_next().is_some() {}
        set.spawn(async move {
            tokio::select! {
                biased;
                _ = task => (name, End::Finished),
                _ = cairn_raft::until_true(&mut cancel) => (name, End::Cancelled),
            }
        });
    }

    /// How many tasks are still running.
    pub fn running(&self) -> usize {
        let mut set = self.set.lock().expect("task set lock");
        while set.try_join_next().is_some() {}
        set.len()
    }

    /// Cancels every task (and any spawned later), then joins them.
    pub async fn cancel_and_join(&self, timeout: Duration) -> usize {
        self.cancel.send_replace(true);
        self.join(timeout).await
    }

    /// Waits up to `timeout` for every task (including ones spawned while
    /// waiting), logging each at debug level as it stops. Tasks still running
    /// at the deadline are aborted; returns how many there were (0 when every
    /// task stopped by itself or by cancellation).
    pub async fn join(&self, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut set = std::mem::take(&mut *self.set.lock().expect("task set lock"));
            if set.is_empty() {
                return 0;
            }
            loop {
                match tokio::time::timeout_at(deadline, set.join_next()).await {
                    Ok(Some(Ok((task, End::Finished)))) => tracing::debug!(task, "task stopped"),
                    Ok(Some(Ok((task, End::Cancelled)))) => {
                        tracing::debug!(task, "task stopped (cancelled)")
                    }
                    Ok(Some(Err(e))) => tracing::warn!(error = %e, "task ended abnormally"),
                    Ok(None) => break,
                    Err(_) => {
                        let left = set.len();
                        tracing::warn!(left, "tasks still running at the deadline; aborting them");
                        set.abort_all();
                        while set.join_next().await.is_some() {}
                        return left;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn join_waits_for_tasks_and_aborts_stragglers_at_the_deadline() {
        let tasks = Tasks::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn("waits", async move {
            let _ = rx.await;
        });
        tasks.spawn("quick", async {});
        assert_eq!(tasks.join(Duration::from_millis(50)).await, 1);
        drop(tx);
        assert_eq!(tasks.running(), 0);

        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tasks.spawn("released", async move {
            let _ = rx.await;
        });
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = tx.send(());
        });
        assert_eq!(tasks.join(Duration::from_secs(5)).await, 0);
        release.await.unwrap();
    }

    #[tokio::test]
    async fn cancel_and_join_ends_sleeping_tasks_without_waiting_them_out() {
        let tasks = Tasks::default();
        tasks.spawn("sleeper", tokio::time::sleep(Duration::from_secs(3600)));
        // 0 aborted: the sleeper ended by cancellation, not at the deadline.
        assert_eq!(tasks.cancel_and_join(Duration::from_secs(60)).await, 0);
        // Spawned after cancellation: cancelled at once too.
        tasks.spawn("late", tokio::time::sleep(Duration::from_secs(3600)));
        assert_eq!(tasks.join(Duration::from_secs(60)).await, 0);
    }
}
