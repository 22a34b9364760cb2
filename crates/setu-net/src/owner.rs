//! The store's one owner: a thread of its own that holds the replica.
//! Everyone else reaches it through a bounded queue of jobs: the network
//! task with [`Owner::try_run`], which never waits (a full queue is
//! reported, and the state machine answers "busy"), and the embedding code
//! with [`Owner::call`], which waits for room and for the answer.
//!
//! So the network task never waits on sled or tantivy, and the one place
//! that writes the store is also the one place that can drop and reopen it
//! after a failed write.

use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

/// Jobs waiting for the store thread, at most.
pub const STORE_QUEUE: usize = 256;

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

enum Msg<S> {
    Run(Job<S>),
    /// Close the store (drop it, on its thread) and end the thread.
    Stop,
}

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OwnerError {
    /// The queue is full ([`STORE_QUEUE`] jobs wait).
    #[error("the store is busy ({STORE_QUEUE} operations queued)")]
    Busy,
    /// The store thread has stopped.
    #[error("the store has stopped")]
    Stopped,
}

/// A handle on the store thread. Cheap to clone.
#[derive(Debug)]
pub struct Owner<S> {
    tx: mpsc::Sender<Msg<S>>,
}

impl<S> Clone for Owner<S> {
    fn clone(&self) -> Owner<S> {
        Owner {
            tx: self.tx.clone(),
        }
    }
}

impl<S: Send + 'static> Owner<S> {
    /// Starts the thread that owns `store`. It runs until [`Owner::stop`]
    /// or until every handle is dropped, and drops (closes) the store on
    /// its way out; the join handle tells when that is done.
    pub fn spawn(name: &str, store: S) -> std::io::Result<(Owner<S>, JoinHandle<()>)> {
        let (tx, mut rx) = mpsc::channel::<Msg<S>>(STORE_QUEUE);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut store = store;
                while let Some(Msg::Run(job)) = rx.blocking_recv() {
                    job(&mut store);
                }
                drop(store);
            })?;
        Ok((Owner { tx }, thread))
    }

    /// Ends the thread after the jobs queued before: the store is dropped
    /// (closed) there. Later jobs fail with [`OwnerError::Stopped`].
    pub async fn stop(&self) -> Result<(), OwnerError> {
        self.tx
            .send(Msg::Stop)
            .await
            .map_err(|_| OwnerError::Stopped)
    }

    /// Queues a job without waiting: [`OwnerError::Busy`] if the queue is
    /// full.
    pub fn try_run(&self, job: impl FnOnce(&mut S) + Send + 'static) -> Result<(), OwnerError> {
        self.tx
            .try_send(Msg::Run(Box::new(job)))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => OwnerError::Busy,
                mpsc::error::TrySendError::Closed(_) => OwnerError::Stopped,
            })
    }

    /// Runs `f` on the store thread, waiting for room in the queue and for
    /// the result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S) -> T + Send + 'static,
    ) -> Result<T, OwnerError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Run(Box::new(move |s: &mut S| {
                let _ = tx.send(f(s));
            })))
            .await
            .map_err(|_| OwnerError::Stopped)?;
        rx.await.map_err(|_| OwnerError::Stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_on_one_thread_and_a_full_queue_says_busy() {
        let (owner, thread) = Owner::spawn("test-store", Vec::<u32>::new()).unwrap();
        // Hold the thread, so the queue fills.
        let (release, held) = std::sync::mpsc::channel::<()>();
        owner
            .try_run(move |_| {
                let _ = held.recv();
            })
            .unwrap();
        let mut queued = 0;
        while owner.try_run(|v| v.push(1)).is_ok() {
            queued += 1;
            assert!(queued <= STORE_QUEUE + 1, "the queue is bounded");
        }
        assert_eq!(owner.try_run(|_| {}), Err(OwnerError::Busy));
        release.send(()).unwrap();
        let n = owner.call(|v| v.len()).await.unwrap();
        assert_eq!(n, queued);
        owner.stop().await.unwrap();
        thread.join().unwrap();
        assert_eq!(owner.call(|v| v.len()).await, Err(OwnerError::Stopped));
    }
}
