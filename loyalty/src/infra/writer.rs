//! Group commit on SQLite: one writer owns the write connection.
//!
//! SQLite lets one transaction write at a time, and with `synchronous =
//! FULL` every commit waits for the disk. Requests that each opened their
//! own transaction took turns at the lock by sleeping and retrying (the
//! busy timeout), and each paid for a sync of its own. Here the writes
//! queue to one task instead. It opens a transaction, runs every write
//! that is waiting, each under a savepoint of its own so that one that
//! fails undoes only itself, commits once, and only then answers each of
//! them. An answer still means the write is on disk; a failed commit
//! answers every write of its batch with an error, and nothing of the
//! batch is kept.
//!
//! A write runs to its end even when the request that sent it goes away
//! (the client hung up): its effect and its answer are then kept together
//! or not at all, as if the client had waited.
//!
//! A write that waited too long for its turn (the disk stalls, or the
//! queue stays full) is answered as a request that found no connection in
//! the pool's time: unavailable, to retry, and it is then never run. Once
//! the writer has taken a write, its caller waits for the true answer.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{mpsc, oneshot};

use crate::Error;

/// A batch commits after at most this many writes, so that the first of
/// them is not kept waiting behind an endless stream.
const BATCH_MAX: usize = 256;
/// Writes that may wait for the writer before a sender waits to queue.
const QUEUE: usize = 1024;
/// How long a write may wait for its turn: the pool's acquire timeout
/// (`Db::connect`), which a write waiting for SQLite's lock had before.
const WAIT: Duration = Duration::from_secs(10);

/// A write's turn, which the writer and the caller each try to settle:
/// waiting, then taken by the writer (it runs) or given up by its caller
/// (it never runs).
const WAITING: u8 = 0;
const TAKEN: u8 = 1;
const GIVEN_UP: u8 = 2;

/// What a write is given: the batch's transaction, or why there is none.
type Given<'c> = Result<&'c mut AnyConnection, &'c sqlx::Error>;

/// One write, its types erased: it runs under its savepoint and says how
/// to answer once the batch has ended.
type Run = Box<dyn for<'c> FnOnce(Given<'c>) -> BoxFuture<'c, Ran> + Send>;

/// A write in the queue, with its turn.
struct Job {
    turn: Arc<AtomicU8>,
    run: Run,
}

impl Job {
    /// The write, for the writer to run, unless its caller gave up on it.
    fn take(self) -> Option<Run> {
        settle(&self.turn, TAKEN).then_some(self.run)
    }
}

/// Moves a waiting turn to `to`; false when the other side settled it first.
fn settle(turn: &AtomicU8, to: u8) -> bool {
    turn.compare_exchange(WAITING, to, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// Sends a write's answer, once the batch's fate is known: given `None`
/// when it committed, else why not.
type Answer = Box<dyn FnOnce(Option<&sqlx::Error>) + Send>;

/// A write that has run.
struct Ran {
    answer: Answer,
    /// It succeeded: its writes stay. Else they are undone.
    kept: bool,
}

/// The queue to the writer task. Cloning it shares the one writer.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
    pool: AnyPool,
    /// How long a write may wait for its turn ([`WAIT`]).
    wait: Duration,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer task on `pool` (of one connection). It ends when
    /// the last `Writer` is dropped.
    pub(crate) fn start(pool: AnyPool) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool.clone(), queue));
        Writer {
            jobs,
            pool,
            wait: WAIT,
        }
    }

    /// The same writer, its writes waiting at most `wait` for their turn.
    #[cfg(test)]
    pub(crate) fn with_wait(self, wait: Duration) -> Writer {
        Writer { wait, ..self }
    }

    /// Closes the write connection: a write after this is answered with
    /// `PoolClosed` (unavailable).
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs `work` in the next batch and answers after the batch's commit.
    /// `Ok` keeps its writes; `Err` undoes them (and only them). A write
    /// not taken by the writer within `wait` is answered unavailable and
    /// never run.
    pub(crate) async fn write<T, E>(
        &self,
        work: impl for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let (answer, mut answered) = oneshot::channel();
        let turn = Arc::new(AtomicU8::new(WAITING));
        let job = Job {
            turn: turn.clone(),
            run: Box::new(move |given| Box::pin(under_savepoint(given, work, answer))),
        };
        let deadline = tokio::time::Instant::now() + self.wait;
        match tokio::time::timeout_at(deadline, self.jobs.send(job)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(E::from(gone())),
            // The queue stayed full: the write never went in.
            Err(_) => return Err(E::from(waited_too_long())),
        }
        let answer = match tokio::time::timeout_at(deadline, &mut answered).await {
            Ok(answer) => answer,
            Err(_) if settle(&turn, GIVEN_UP) => return Err(E::from(waited_too_long())),
            // Taken: it runs or has run, and its answer says how it ended.
            Err(_) => answered.await,
        };
        answer.unwrap_or_else(|_| Err(E::from(gone())))
    }
}

/// A write that waited longer than [`WAIT`] and was never run: unavailable
/// (503), as when the pool finds no connection in its time, and counted
/// with those (`tablecard_db_pool_timeouts_total`).
fn waited_too_long() -> Error {
    metrics::counter!("tablecard_db_pool_timeouts_total").increment(1);
    Error::Database(sqlx::Error::PoolTimedOut)
}

/// The writer task (or its runtime) has ended.
fn gone() -> Error {
    Error::Database(sqlx::Error::WorkerCrashed)
}

async fn run(pool: AnyPool, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let Some(first) = first.take() else {
            continue;
        };
        let mut ran = Vec::new();
        let ended = batch(&pool, first, &mut queue, &mut ran).await;
        metrics::histogram!("tablecard_db_write_batch_size").record(ran.len() as f64);
        let failed = ended.err();
        for write in ran {
            (write.answer)(failed.as_ref());
        }
    }
    pool.close().await;
}

/// The savepoint each write runs under. The writer keeps it by name,
/// beside sqlx's own (which the writes may open inside it), so that
/// closing one write's and opening the next's is one round trip to the
/// connection's thread, and the last write's is closed by the commit.
/// Opens the batch's savepoint, after taking SQLite's write lock at once
/// (see `Db::begin`).
const OPEN: &str = "UPDATE brands SET id = id WHERE 0 = 1; SAVEPOINT tablecard_write";
const KEEP_AND_REOPEN: &str = "RELEASE tablecard_write; SAVEPOINT tablecard_write";
/// Undoing a write leaves its savepoint open, where the next one starts.
const UNDO: &str = "ROLLBACK TO tablecard_write";

/// Runs `first` and every write waiting behind it in one transaction. A
/// batch that failed closes its connection: SQLite may have ended the
/// transaction by itself (a full disk), and sqlx would go on counting it
/// as open; the next batch starts on a new connection.
async fn batch(
    pool: &AnyPool,
    first: Run,
    queue: &mut mpsc::Receiver<Job>,
    ran: &mut Vec<Ran>,
) -> Result<(), sqlx::Error> {
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => {
            ran.push(first(Err(&e)).await);
            return Err(e);
        }
    };
    let ended = on_connection(&mut conn, first, queue, ran).await;
    if ended.is_err() {
        conn.close_on_drop();
    }
    ended
}

async fn on_connection(
    conn: &mut AnyConnection,
    first: Run,
    queue: &mut mpsc::Receiver<Job>,
    ran: &mut Vec<Ran>,
) -> Result<(), sqlx::Error> {
    let opened = match sqlx::Acquire::begin(conn).await {
        Ok(mut tx) => statements(&mut tx, OPEN).await.map(|()| tx),
        Err(e) => Err(e),
    };
    let mut tx = match opened {
        Ok(tx) => tx,
        Err(e) => {
            ran.push(first(Err(&e)).await);
            return Err(e);
        }
    };
    let mut next = Some(first);
    while let Some(job) = next.take() {
        let write = job(Ok(&mut tx)).await;
        let kept = write.kept;
        ran.push(write);
        if ran.len() < BATCH_MAX {
            next = next_waiting(queue);
        }
        let close = match (kept, next.is_some()) {
            (true, true) => Some(KEEP_AND_REOPEN),
            (true, false) => None,
            (false, _) => Some(UNDO),
        };
        if let Some(close) = close {
            if let Err(e) = statements(&mut tx, close).await {
                // The transaction is in a state nobody knows: none of the
                // batch is kept, the write that was taken included.
                if let Some(job) = next.take() {
                    ran.push(job(Err(&e)).await);
                }
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
    }
    tx.commit().await
}

/// The next write in the queue whose caller still waits for it, if any.
fn next_waiting(queue: &mut mpsc::Receiver<Job>) -> Option<Run> {
    while let Ok(job) = queue.try_recv() {
        if let Some(run) = job.take() {
            return Some(run);
        }
    }
    None
}

/// Runs `sql`, statements without parameters, in one round trip to the
/// connection's thread (SQLite's driver runs each statement of a query).
async fn statements(conn: &mut AnyConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(|_| ())
}

/// Runs one write in the batch's transaction (under the writer's
/// savepoint), and makes its answer: its own error, or its value once the
/// batch committed.
async fn under_savepoint<T, E>(
    given: Given<'_>,
    work: impl for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, E>>,
    answer: oneshot::Sender<Result<T, E>>,
) -> Ran
where
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    let conn = match given {
        Ok(conn) => conn,
        Err(_) => {
            return Ran {
                answer: Box::new(move |failed| {
                    let _ = answer.send(Err(E::from(batch_failed(failed))));
                }),
                kept: false,
            }
        }
    };
    let out = AssertUnwindSafe(async move { work(conn).await })
        .catch_unwind()
        .await;
    let out = out.unwrap_or_else(|_| Err(E::from(gone())));
    Ran {
        kept: out.is_ok(),
        answer: Box::new(move |failed| {
            // A refusal may rest on what an earlier write of the batch
            // wrote: when the batch failed, every write is told so.
            let out = match failed {
                Some(e) => Err(E::from(batch_failed(Some(e)))),
                None => out,
            };
            let _ = answer.send(out);
        }),
    }
}

/// The error each write of a failed batch is answered with. It keeps the
/// original's kind where it matters to the client: a database that is
/// unavailable just now (busy, full, down) stays a 503, to retry later.
fn batch_failed(failed: Option<&sqlx::Error>) -> Error {
    let Some(e) = failed else {
        return gone();
    };
    let text = format!("the batch of writes was not committed: {e}");
    Error::Database(if crate::error::unavailable(e) {
        sqlx::Error::Io(std::io::Error::other(text))
    } else {
        sqlx::Error::Protocol(text)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Notify;

    use crate::{Db, Error};

    async fn scratch_db(dir: &tempfile::TempDir) -> Db {
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE parents (id INTEGER PRIMARY KEY); \
             CREATE TABLE rows (n INTEGER PRIMARY KEY, \
               parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .execute(db.pool())
        .await
        .unwrap();
        db
    }

    /// Rows committed, as a reader outside the writer sees them.
    async fn committed(db: &Db) -> Vec<i64> {
        sqlx::query_as::<_, (i64,)>("SELECT n FROM rows ORDER BY n")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|(n,)| n)
            .collect()
    }

    /// Inserts `n` (with `parent`), then says how many rows a reader
    /// outside the writer saw committed at that moment; `fail` makes it
    /// refuse after its insert.
    fn insert(
        db: &Db,
        n: i64,
        parent: Option<i64>,
        fail: bool,
    ) -> tokio::task::JoinHandle<Result<usize, Error>> {
        let db = db.clone();
        tokio::spawn(async move {
            let outside = db.clone();
            db.write(move |conn| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO rows (n, parent) VALUES ($1, $2)")
                        .bind(n)
                        .bind(parent)
                        .execute(&mut *conn)
                        .await?;
                    if fail {
                        return Err(Error::MemberNotFound);
                    }
                    Ok(committed(&outside).await.len())
                })
            })
            .await
        })
    }

    /// Holds the writer inside a write until `gate` is notified, so that
    /// the writes sent meanwhile wait in its queue.
    async fn hold_writer(db: &Db, gate: Arc<Notify>) -> tokio::task::JoinHandle<Result<(), Error>> {
        let (started, running) = tokio::sync::oneshot::channel();
        let db = db.clone();
        let held = tokio::spawn(async move {
            db.write(move |_| {
                Box::pin(async move {
                    let _ = started.send(());
                    gate.notified().await;
                    Ok::<_, Error>(())
                })
            })
            .await
        });
        running.await.unwrap();
        held
    }

    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_write_that_waits_too_long_for_its_turn_is_answered_unavailable_and_never_made() {
        let dir = tempfile::tempdir().unwrap();
        let db = scratch_db(&dir)
            .await
            .with_write_wait(std::time::Duration::from_millis(200));
        let gate = Arc::new(Notify::new());
        let held = hold_writer(&db, gate.clone()).await;
        // The writer is busy with the held write for longer than a write
        // may wait: the one behind it is answered, and it is not made.
        let late = insert(&db, 1, None, false).await.unwrap();
        match late {
            Err(Error::Database(e)) => assert!(crate::error::unavailable(&e), "{e}"),
            other => panic!("expected unavailable, got {other:?}"),
        }
        gate.notify_one();
        // The held write was taken before its time ran out: its caller
        // waited for its true answer.
        held.await.unwrap().unwrap();
        assert_eq!(insert(&db, 2, None, false).await.unwrap().unwrap(), 0);
        assert_eq!(
            committed(&db).await,
            vec![2],
            "the write given up on was never run"
        );
    }

    #[tokio::test]
    async fn waiting_writes_commit_together_and_one_refusal_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let db = scratch_db(&dir).await;
        let gate = Arc::new(Notify::new());
        let held = hold_writer(&db, gate.clone()).await;
        // A refusal in the middle and one at the end of the batch.
        let refused = |n| n == 7 || n == 20;
        let writes: Vec<_> = (1..=20).map(|n| insert(&db, n, None, refused(n))).collect();
        settle().await;
        gate.notify_one();
        held.await.unwrap().unwrap();
        for (n, write) in (1..=20).zip(writes) {
            match write.await.unwrap() {
                // Each ran in the batch's one transaction: nothing of it
                // was committed while it ran.
                Ok(seen) => {
                    assert!(!refused(n), "write {n} was refused, yet answered Ok");
                    assert_eq!(seen, 0, "write {n} saw commits of its batch");
                }
                Err(e) => {
                    assert!(refused(n), "write {n} failed: {e:?}");
                    assert!(matches!(e, Error::MemberNotFound), "{e:?}");
                }
            }
        }
        let expected: Vec<i64> = (1..=20).filter(|&n| !refused(n)).collect();
        assert_eq!(committed(&db).await, expected);
    }

    #[tokio::test]
    async fn a_failed_commit_answers_every_write_of_its_batch_and_keeps_none() {
        let dir = tempfile::tempdir().unwrap();
        let db = scratch_db(&dir).await;
        let gate = Arc::new(Notify::new());
        let held = hold_writer(&db, gate.clone()).await;
        // Write 3 names a parent that does not exist: the deferred key
        // fails the commit, after every write's own statement succeeded.
        let writes: Vec<_> = (1..=5)
            .map(|n| insert(&db, n, (n == 3).then_some(99), false))
            .collect();
        settle().await;
        gate.notify_one();
        assert!(
            held.await.unwrap().is_err(),
            "the holder's batch failed too"
        );
        for write in writes {
            let e = write.await.unwrap().unwrap_err();
            assert!(
                e.to_string().contains("not committed"),
                "the answer says why: {e}"
            );
        }
        assert_eq!(committed(&db).await, Vec::<i64>::new());
        // The writer goes on: the next batch commits.
        assert_eq!(insert(&db, 6, None, false).await.unwrap().unwrap(), 0);
        assert_eq!(committed(&db).await, vec![6]);
    }

    #[tokio::test]
    async fn a_write_that_panics_is_answered_and_the_others_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = scratch_db(&dir).await;
        let gate = Arc::new(Notify::new());
        let held = hold_writer(&db, gate.clone()).await;
        let before = insert(&db, 1, None, false);
        let panicking = {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(|conn| {
                    Box::pin(async move {
                        sqlx::query("INSERT INTO rows (n) VALUES (2)")
                            .execute(&mut *conn)
                            .await?;
                        panic!("a bug in one write");
                        #[allow(unreachable_code)]
                        Ok::<_, Error>(())
                    })
                })
                .await
            })
        };
        let after = insert(&db, 3, None, false);
        settle().await;
        gate.notify_one();
        held.await.unwrap().unwrap();
        assert!(panicking.await.unwrap().is_err());
        before.await.unwrap().unwrap();
        after.await.unwrap().unwrap();
        assert_eq!(committed(&db).await, vec![1, 3]);
    }

    /// What the POS's envelope does: a refused operation is undone under a
    /// savepoint of its own, and the write goes on to keep its answer.
    /// And a write that panics inside such a savepoint is undone whole.
    #[tokio::test]
    async fn savepoints_inside_a_write_undo_only_their_part() {
        let dir = tempfile::tempdir().unwrap();
        let db = scratch_db(&dir).await;
        let gate = Arc::new(Notify::new());
        let held = hold_writer(&db, gate.clone()).await;
        let write = |n: i64, then_panic: bool| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |conn| {
                    Box::pin(async move {
                        let mut inner = crate::infra::db::savepoint(conn).await?;
                        sqlx::query("INSERT INTO rows (n) VALUES ($1)")
                            .bind(n * 100)
                            .execute(&mut *inner)
                            .await?;
                        if then_panic {
                            panic!("a bug inside the inner savepoint");
                        }
                        inner.rollback().await?;
                        sqlx::query("INSERT INTO rows (n) VALUES ($1)")
                            .bind(n)
                            .execute(&mut *conn)
                            .await?;
                        Ok::<_, Error>(())
                    })
                })
                .await
            })
        };
        let (one, two, three) = (write(1, false), write(2, true), write(3, false));
        settle().await;
        gate.notify_one();
        held.await.unwrap().unwrap();
        one.await.unwrap().unwrap();
        assert!(two.await.unwrap().is_err());
        three.await.unwrap().unwrap();
        assert_eq!(committed(&db).await, vec![1, 3]);
    }

    #[tokio::test]
    async fn a_write_whose_caller_left_is_still_made_whole() {
        let dir = tempfile::tempdir().unwrap();
        let db = scratch_db(&dir).await;
        let gate = Arc::new(Notify::new());
        let held = hold_writer(&db, gate.clone()).await;
        let left = insert(&db, 1, None, false);
        settle().await;
        left.abort();
        gate.notify_one();
        held.await.unwrap().unwrap();
        // The next write is answered after the batch before it ended.
        insert(&db, 2, None, false).await.unwrap().unwrap();
        assert_eq!(committed(&db).await, vec![1, 2]);
    }
}
