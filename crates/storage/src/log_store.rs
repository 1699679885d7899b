//! openraft's `RaftLogStorage` for one group, backed by the shared [`Engine`].
//!
//! Invariants: entries of a group are contiguous (`truncate` and `purge` use
//! range deletes from/up to an index, never punch holes); the last-purged log id
//! is written in the same batch that deletes the purged entries; a vote is durable
//! before `save_vote` returns; `append` makes entries readable before it returns
//! and acknowledges them only after the fsync that covers them; the newest
//! entries are also kept in memory (`tail`) for replication to read, cut by
//! `truncate` and `purge` before the log is.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{AnyError, ErrorSubject, ErrorVerb, LogId, OptionalSend, StorageIOError, Vote};
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};
use serde::de::DeserializeOwned;
use serde::Serialize;

use cairn_common::metrics::metrics;

use crate::keys::{self, StateTag};
use crate::tail::Tail;
use crate::vote_events::classify;
use crate::{Engine, GroupId, GroupTypeConfig};

type StorageResult<T> = Result<T, openraft::StorageError<u64>>;

fn io_err(
    subject: ErrorSubject<u64>,
    verb: ErrorVerb,
    e: impl std::error::Error + 'static,
) -> openraft::StorageError<u64> {
    StorageIOError::new(subject, verb, AnyError::new(&e)).into()
}

/// The Raft log, vote and commit index of one group.
pub struct LogStore<C> {
    engine: Engine,
    group: GroupId,
    /// Whether the commit index is written each time it moves.
    commit_index: bool,
    /// The node this store belongs to, so that saved votes tell its own
    /// elections apart (see [`crate::vote_events`]); `None` counts only
    /// term changes.
    node: Option<u64>,
    /// The vote saved (or read) last.
    last_vote: Option<Vote<u64>>,
    /// The newest entries, shared by this store and its readers.
    tail: Arc<Mutex<Tail>>,
    _types: PhantomData<fn() -> C>,
}

impl<C> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            group: self.group,
            commit_index: self.commit_index,
            node: self.node,
            last_vote: self.last_vote,
            tail: self.tail.clone(),
            _types: PhantomData,
        }
    }
}

impl<C> LogStore<C> {
    /// The log store of `group` in `engine`. Opening is free: state is read lazily.
    pub fn new(engine: Engine, group: GroupId) -> Self {
        let tail = Arc::new(Mutex::new(Tail::new(engine.tail_budget())));
        Self {
            engine,
            group,
            commit_index: true,
            node: None,
            last_vote: None,
            tail,
            _types: PhantomData,
        }
    }

    /// This store without the commit index: it is neither written nor read,
    /// so at start-up openraft applies past the state machine's own applied
    /// point only once a leader tells it what is committed. For groups whose
    /// state machine stores what it applied with every apply (partitions),
    /// where writing the index too cost a RocksDB write per commit of every
    /// group (7% of a broker's CPU at 192 partitions).
    pub fn without_commit_index(mut self) -> Self {
        self.commit_index = false;
        self
    }

    /// This store on node `node`: its own elections are counted in the Raft
    /// metrics.
    pub fn of_node(mut self, node: u64) -> Self {
        self.node = Some(node);
        self
    }

    /// The group this store belongs to.
    pub fn group(&self) -> GroupId {
        self.group
    }

    fn read_state<T: DeserializeOwned>(
        &self,
        tag: StateTag,
        subject: ErrorSubject<u64>,
    ) -> StorageResult<Option<T>> {
        let key = keys::state_key(self.group, tag);
        let bytes = self
            .engine
            .db()
            .get_pinned_cf(self.engine.cf_state(), key)
            .map_err(|e| io_err(subject.clone(), ErrorVerb::Read, e))?;
        match bytes {
            None => Ok(None),
            Some(bytes) => bincode::deserialize(&bytes)
                .map(Some)
                .map_err(|e| io_err(subject, ErrorVerb::Read, *e)),
        }
    }

    fn put_state<T: Serialize>(
        &self,
        batch: &mut WriteBatch,
        tag: StateTag,
        value: &T,
        subject: ErrorSubject<u64>,
    ) -> StorageResult<()> {
        let bytes = bincode::serialize(value).map_err(|e| io_err(subject, ErrorVerb::Write, *e))?;
        batch.put_cf(
            self.engine.cf_state(),
            keys::state_key(self.group, tag),
            bytes,
        );
        Ok(())
    }

    fn log_read_options(&self, start: u64, end: Option<u64>) -> ReadOptions {
        let mut opts = ReadOptions::default();
        opts.set_iterate_lower_bound(keys::log_key(self.group, start).to_vec());
        match end {
            Some(end) => opts.set_iterate_upper_bound(keys::log_key(self.group, end).to_vec()),
            None => opts.set_iterate_upper_bound(keys::group_end(self.group).to_vec()),
        }
        opts
    }

    /// Entries `start..end` from the tail, if it holds all of them.
    fn tail_entries(
        &self,
        start: u64,
        end: Option<u64>,
    ) -> StorageResult<Option<Vec<openraft::Entry<C>>>>
    where
        C: GroupTypeConfig,
        C::D: DeserializeOwned,
    {
        let tail = self.tail.lock().expect("log tail lock");
        let Some(held) = tail.get(start, end) else {
            return Ok(None);
        };
        held.zip(start..)
            .map(|(bytes, index)| {
                bincode::deserialize(bytes)
                    .map_err(|e| io_err(ErrorSubject::LogIndex(index), ErrorVerb::Read, *e))
            })
            .collect::<StorageResult<Vec<_>>>()
            .map(Some)
    }

    fn last_log_id(&self) -> StorageResult<Option<LogId<u64>>>
    where
        C: GroupTypeConfig,
    {
        let opts = self.log_read_options(0, None);
        let mut iter =
            self.engine
                .db()
                .iterator_cf_opt(self.engine.cf_log(), opts, IteratorMode::End);
        match iter.next() {
            None => Ok(None),
            Some(item) => {
                let (_, value) =
                    item.map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
                let entry: openraft::Entry<C> = bincode::deserialize(&value)
                    .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, *e))?;
                Ok(Some(entry.log_id))
            }
        }
    }
}

impl<C> RaftLogReader<C> for LogStore<C>
where
    C: GroupTypeConfig,
    C::D: Serialize + DeserializeOwned,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<C::Entry>> {
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&i) => Some(i.saturating_add(1)),
            Bound::Excluded(&i) => Some(i),
            Bound::Unbounded => None,
        };
        if end.is_some_and(|end| end <= start) {
            return Ok(Vec::new());
        }
        if let Some(entries) = self.tail_entries(start, end)? {
            return Ok(entries);
        }
        let opts = self.log_read_options(start, end);
        let from = keys::log_key(self.group, start);
        let iter = self.engine.db().iterator_cf_opt(
            self.engine.cf_log(),
            opts,
            IteratorMode::From(&from, Direction::Forward),
        );
        let mut entries = Vec::new();
        for item in iter {
            let (key, value) = item.map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, e))?;
            let index = keys::log_index(&key).unwrap_or_default();
            let entry: openraft::Entry<C> = bincode::deserialize(&value)
                .map_err(|e| io_err(ErrorSubject::LogIndex(index), ErrorVerb::Read, *e))?;
            entries.push(entry);
        }
        Ok(entries)
    }
}

impl<C> RaftLogStorage<C> for LogStore<C>
where
    C: GroupTypeConfig,
    C::D: Serialize + DeserializeOwned,
{
    type LogReader = Self;

    async fn get_log_state(&mut self) -> StorageResult<LogState<C>> {
        let last_purged_log_id: Option<LogId<u64>> =
            self.read_state(StateTag::LastPurged, ErrorSubject::Logs)?;
        let last_log_id = self.last_log_id()?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> StorageResult<()> {
        let mut batch = WriteBatch::default();
        self.put_state(&mut batch, StateTag::Vote, vote, ErrorSubject::Vote)?;
        self.engine
            .write_durable(batch)
            .await
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        let events = classify(self.node, self.last_vote.as_ref(), vote);
        let raft = &metrics().raft;
        for (happened, counter) in [
            (events.term_changed, &raft.term_changes),
            (events.election_started, &raft.elections_started),
            (events.election_won, &raft.elections_won),
        ] {
            if happened {
                counter.inc();
            }
        }
        self.last_vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<u64>>> {
        let vote = self.read_state(StateTag::Vote, ErrorSubject::Vote)?;
        self.last_vote = vote;
        Ok(vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> StorageResult<()> {
        // Not synced: a lost commit index after a power failure only means that
        // fewer entries are re-applied at start-up; Raft re-learns it from the leader.
        if !self.commit_index {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        self.put_state(
            &mut batch,
            StateTag::Committed,
            &committed,
            ErrorSubject::Store,
        )?;
        self.engine
            .write(batch)
            .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<u64>>> {
        if !self.commit_index {
            return Ok(None);
        }
        Ok(self
            .read_state::<Option<LogId<u64>>>(StateTag::Committed, ErrorSubject::Store)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<C>) -> StorageResult<()>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::default();
        let mut written = Vec::new();
        for entry in entries {
            let bytes = bincode::serialize(&entry)
                .map_err(|e| io_err(ErrorSubject::Log(entry.log_id), ErrorVerb::Write, *e))?;
            batch.put_cf(
                self.engine.cf_log(),
                keys::log_key(self.group, entry.log_id.index),
                &bytes,
            );
            written.push((entry.log_id.index, bytes));
        }
        self.engine
            .write(batch)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, e))?;
        // Only now: a reader that finds an entry in the tail finds it on disk too.
        let mut tail = self.tail.lock().expect("log tail lock");
        for (index, bytes) in written {
            tail.push(index, bytes);
        }
        drop(tail);
        let handed = std::time::Instant::now();
        self.engine.after_log_append(Box::new(move |result| {
            metrics()
                .raft
                .append_duration
                .observe(handed.elapsed().as_secs_f64());
            callback.log_io_completed(result)
        }));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        // The tail first: a reader must not see entries the log no longer has.
        self.tail
            .lock()
            .expect("log tail lock")
            .truncate_from(log_id.index);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            self.engine.cf_log(),
            keys::log_key(self.group, log_id.index).as_slice(),
            keys::group_end(self.group).as_slice(),
        );
        self.engine
            .write(batch)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        self.tail
            .lock()
            .expect("log tail lock")
            .purge_upto(log_id.index);
        let mut batch = WriteBatch::default();
        self.put_state(
            &mut batch,
            StateTag::LastPurged,
            &log_id,
            ErrorSubject::Logs,
        )?;
        batch.delete_range_cf(
            self.engine.cf_log(),
            keys::log_key(self.group, 0),
            keys::log_key(self.group, log_id.index.saturating_add(1)),
        );
        self.engine
            .write(batch)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))?;
        metrics().raft.log_purges.inc();
        Ok(())
    }
}
