//! Group commit: one writer thread per node runs the writes of concurrent
//! requests in one transaction and commits them together.
//!
//! A request submits its write (a closure over a connection) with a
//! callback. The writer takes every write waiting (up to `max_batch`),
//! runs each in its own savepoint (one write's error rolls back only that
//! write), commits once, and only then calls each callback with its
//! result. So a caller that answers after its callback answers only for
//! what is durable, and a commit that fails fails every write in it.
//! Nothing waits to fill a batch: under light load a batch is one write;
//! under load the writes that arrived while the previous commit ran share
//! the next one (on SQLite one WAL append and sync point for all of them,
//! on PostgreSQL one round trip for the commit).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use diesel::Connection;

use super::{write_tx, DbConn, DbPool};
use crate::error::{CoreError, CoreResult};

/// What a finished job reports, after the commit.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A write: runs inside the batch's transaction (in a savepoint of its own
/// when the flag says so), returns what to report and whether it succeeded.
type Job = Box<dyn FnOnce(&mut DbConn, bool) -> (Finish, bool) + Send>;

/// What a counter increment adds to: e.g. (client, minute, scope).
pub type CountKey = (String, i64, String);
/// Adds `n` to the counter `key` (an upsert), inside the batch's
/// transaction.
pub type CountFn = fn(&mut DbConn, &CountKey, i64) -> CoreResult<()>;

/// What the writer receives.
enum Msg {
    Job(Job),
    /// One increment of a counter; a batch adds its increments up and
    /// writes each counter once.
    Count(CountKey, Finish),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub batches: AtomicU64,
    pub writes: AtomicU64,
    pub failed_commits: AtomicU64,
}

/// The handle requests submit through; cheap to clone.
#[derive(Clone, Debug)]
pub struct GroupCommit {
    tx: Sender<Msg>,
    stats: Arc<Stats>,
}

impl GroupCommit {
    /// Starts the writer thread on `pool`; `count` writes the counters
    /// [`GroupCommit::count`] adds to. It ends when every handle is dropped.
    pub fn start(pool: DbPool, max_batch: usize, count: CountFn) -> CoreResult<GroupCommit> {
        let (tx, rx) = channel::<Msg>();
        let stats = Arc::new(Stats::default());
        let s = stats.clone();
        std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || writer(pool, rx, max_batch.max(1), count, &s))
            .map_err(|e| CoreError::Unavailable(format!("group commit thread: {e}")))?;
        Ok(GroupCommit { tx, stats })
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Runs `f` in the next batch; `done` gets its result once the batch
    /// committed, or the error that kept it from committing. `f`'s error
    /// rolls back `f`'s writes only.
    pub fn submit<T, F, D>(&self, f: F, done: D)
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> CoreResult<T> + Send + 'static,
        D: FnOnce(CoreResult<T>) + Send + 'static,
    {
        let job: Job = Box::new(move |conn: &mut DbConn, savepoint: bool| {
            let outcome = match savepoint {
                true => conn.transaction(f),
                false => f(conn),
            };
            let ok = outcome.is_ok();
            let finish = Box::new(move |commit: Result<(), String>| {
                done(match (outcome, commit) {
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(CoreError::Unavailable(e)),
                    (Ok(v), Ok(())) => Ok(v),
                })
            }) as Finish;
            (finish, ok)
        });
        self.send(Msg::Job(job));
    }

    /// Adds one to counter `key` in the next batch; `done` hears once the
    /// batch committed. The increments of a batch are written as one
    /// statement per counter.
    pub fn count<D>(&self, key: CountKey, done: D)
    where
        D: FnOnce(CoreResult<()>) + Send + 'static,
    {
        let finish: Finish = Box::new(move |commit: Result<(), String>| {
            done(commit.map_err(CoreError::Unavailable))
        });
        self.send(Msg::Count(key, finish));
    }

    fn send(&self, m: Msg) {
        if self.tx.send(m).is_err() {
            // The writer is gone: the message (and its callback) is dropped
            // unrun, and the waiting caller answers "unavailable".
            tracing::error!("group commit: the writer thread has stopped");
        }
    }

    /// Runs `f` in the next batch and waits for the commit (for callers on
    /// a blocking thread).
    pub fn run<T, F>(&self, f: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> CoreResult<T> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(f, move |r| {
            let _ = tx.send(r);
        });
        rx.recv()
            .map_err(|_| CoreError::Unavailable("the group commit writer stopped".into()))?
    }
}

fn writer(pool: DbPool, rx: Receiver<Msg>, max_batch: usize, count: CountFn, stats: &Stats) {
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(8);
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        // A panic in a write must not end the writer: the batch fails,
        // its callers hear so (their callbacks are dropped), the next runs.
        let ran = catch_unwind(AssertUnwindSafe(|| commit_batch(&pool, batch, count)));
        match ran {
            Ok(Ok(())) => {}
            Ok(Err(())) | Err(_) => {
                stats.failed_commits.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Runs `batch` in one transaction and reports to every job. `Err` when
/// the batch did not commit.
fn commit_batch(pool: &DbPool, batch: Vec<Msg>, count: CountFn) -> Result<(), ()> {
    let mut conn = match pool.get() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("group commit: no database connection: {e}");
            // The jobs never ran; dropping them drops their callbacks
            // unrun, and each waiting caller answers "unavailable".
            drop(batch);
            return Err(());
        }
    };
    let mut jobs = Vec::with_capacity(batch.len());
    let mut counts: BTreeMap<CountKey, i64> = BTreeMap::new();
    let mut counted: Vec<Finish> = Vec::new();
    for m in batch {
        match m {
            Msg::Job(j) => jobs.push(j),
            Msg::Count(key, finish) => {
                *counts.entry(key).or_default() += 1;
                counted.push(finish);
            }
        }
    }
    let mut finishes: Vec<Finish> = Vec::with_capacity(jobs.len());
    // A write alone in its batch needs no savepoint: the transaction is
    // its own, and its error rolls the transaction back.
    let alone = jobs.len() == 1 && counts.is_empty();
    let mut counts_failed: Option<String> = None;
    let committed = write_tx(&mut conn, |c| {
        for job in jobs {
            let (finish, ok) = job(c, !alone);
            finishes.push(finish);
            if alone && !ok {
                return Err(Alone::Failed);
            }
        }
        if counts.is_empty() {
            return Ok(());
        }
        // The counters in a savepoint of their own when writes share the
        // batch: a counter that cannot be written fails its requests only.
        let add = |c: &mut DbConn| -> CoreResult<()> {
            for (key, n) in &counts {
                count(c, key, *n)?;
            }
            Ok(())
        };
        let r = match finishes.is_empty() {
            true => add(c),
            false => c.transaction(add),
        };
        if let Err(e) = r {
            tracing::error!("group commit: counters not written: {e}");
            counts_failed = Some(format!("the write did not commit: {e}"));
            if finishes.is_empty() {
                return Err(Alone::Failed);
            }
        }
        Ok(())
    });
    let result = match committed {
        Ok(()) | Err(Alone::Failed) => Ok(()),
        Err(Alone::Db(e)) => {
            tracing::error!("group commit: the batch did not commit: {e}");
            Err(format!("the write did not commit: {e}"))
        }
    };
    let failed = result.is_err();
    for finish in finishes {
        finish(result.clone());
    }
    let counted_result = match counts_failed {
        Some(e) => Err(e),
        None => result.clone(),
    };
    for finish in counted {
        finish(counted_result.clone());
    }
    if failed {
        Err(())
    } else {
        Ok(())
    }
}

/// Why a batch's transaction did not commit.
enum Alone {
    /// The batch's only write failed (its own error is what it reports).
    Failed,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Alone {
    fn from(e: diesel::result::Error) -> Self {
        Alone::Db(e)
    }
}
