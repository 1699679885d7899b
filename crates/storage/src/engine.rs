//! The per-broker RocksDB instance and its group-commit syncer.
//!
//! Writers put their batch into RocksDB without a sync (so it is readable at
//! once) and queue a completion on the syncer. The syncer thread takes every
//! completion queued so far, issues one WAL fsync for all of them
//! (`FlushWAL(sync = true)`), and then runs the completions. A completion is run
//! only after an fsync that started after its write, so it never acknowledges
//! data that could be lost; many groups' appends share one fsync.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, DB};

use crate::keys;
use crate::{GroupId, StorageError};

const CF_LOG: &str = "log";
/// Every column family, in the order they are opened.
pub(crate) const COLUMN_FAMILIES: [&str; 4] = [CF_LOG, CF_STATE, CF_GROUPS, CF_INDEX];
const CF_STATE: &str = "state";
const CF_GROUPS: &str = "groups";
const CF_INDEX: &str = "index";

/// A completion run by the syncer once the WAL holding its write is on disk.
type SyncCompletion = Box<dyn FnOnce(io::Result<()>) + Send>;

/// Tunables of the RocksDB instance.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Upper bound of WAL size before RocksDB flushes the column families that pin old WAL files.
    pub max_total_wal_size: u64,
    /// Memtable size per column family.
    pub write_buffer_size: usize,
    /// Whether Raft log appends wait for a WAL fsync before they are
    /// acknowledged. `false` acknowledges them once written to the OS (they
    /// survive a broker process crash but not a machine crash: Kafka's and
    /// JetStream's default). Votes and other metadata are always synced.
    pub fsync_log: bool,
    /// Bytes of newly appended log entries every group together keeps in
    /// memory for replication to read (see `tail`).
    pub log_tail_bytes: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            // WAL files live until every column family flushed the data they
            // hold; the cap forces the small CFs to flush, so deleted
            // records' WAL is given back within this much.
            max_total_wal_size: 64 << 20,
            write_buffer_size: 64 << 20,
            fsync_log: true,
            log_tail_bytes: 32 << 20,
        }
    }
}

/// Counters that show how well group commit works.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Writes that waited for durability.
    pub durable_writes: u64,
    /// WAL fsyncs issued for them.
    pub fsyncs: u64,
}

/// The shared storage engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<DB>,
    path: PathBuf,
    sync_tx: Mutex<Option<mpsc::Sender<SyncCompletion>>>,
    syncer: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<Counters>,
    fsync_log: bool,
    tail_budget: Arc<crate::tail::Budget>,
}

#[derive(Default)]
struct Counters {
    durable_writes: AtomicU64,
    fsyncs: AtomicU64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Engine {
    /// Opens (or creates) the database under `path`.
    pub fn open(path: impl AsRef<Path>, options: &EngineOptions) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_total_wal_size(options.max_total_wal_size);
        // Point-in-time recovery: a torn WAL tail (from a crash mid-write) is
        // dropped, everything before it is kept. Only synced data is acknowledged.
        db_opts.set_wal_recovery_mode(rocksdb::DBRecoveryMode::PointInTime);
        let cf_opts = || {
            let mut o = Options::default();
            o.set_write_buffer_size(options.write_buffer_size);
            // RocksDB stops every write while a column family has as many
            // immutable memtables as this, waiting for their flush. With its
            // default of 2, a full memtable and the WAL cap switching memtables
            // within the same second stopped all writes for the ~100 ms of a
            // flush (the log CF's `Stopping writes because we have 2 immutable
            // memtables`), the replicated level's p99.9. Four lets a flush
            // finish behind writes; a memtable is only held until flushed.
            o.set_max_write_buffer_number(4);
            o.set_compression_type(rocksdb::DBCompressionType::Lz4);
            o
        };
        // Log entries (record batches, up to 256 KiB) go to blob files when
        // the memtable is flushed; compactions then move only keys and blob
        // references, so a payload byte is written about twice (WAL + blob)
        // instead of once more per LSM level. Blob files whose entries were
        // all purged by retention are dropped; GC relocates the few live ones
        // left in the oldest files.
        let log_opts = {
            let mut o = cf_opts();
            o.set_enable_blob_files(true);
            o.set_min_blob_size(4096);
            o.set_blob_file_size(64 << 20);
            o.set_blob_compression_type(rocksdb::DBCompressionType::Lz4);
            o.set_enable_blob_gc(true);
            o.set_blob_gc_age_cutoff(0.1);
            o
        };
        let cfs = COLUMN_FAMILIES.map(|name| {
            let opts = if name == CF_LOG {
                log_opts.clone()
            } else {
                cf_opts()
            };
            ColumnFamilyDescriptor::new(name, opts)
        });
        let db =
            DB::open_cf_descriptors(&db_opts, &path, cfs).map_err(|source| StorageError::Open {
                path: path.clone(),
                source,
            })?;
        let db = Arc::new(db);
        let stats = Arc::new(Counters::default());
        let (sync_tx, sync_rx) = mpsc::channel();
        let syncer = {
            let db = db.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name("cairn-syncer".into())
                .spawn(move || run_syncer(&db, &sync_rx, &stats))
                .map_err(StorageError::Syncer)?
        };
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                path,
                sync_tx: Mutex::new(Some(sync_tx)),
                syncer: Mutex::new(Some(syncer)),
                stats,
                fsync_log: options.fsync_log,
                tail_budget: crate::tail::Budget::new(options.log_tail_bytes),
            }),
        })
    }

    /// The directory the database lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// What the log tails of this engine's groups may hold together.
    pub(crate) fn tail_budget(&self) -> Arc<crate::tail::Budget> {
        self.inner.tail_budget.clone()
    }

    pub(crate) fn db(&self) -> &DB {
        &self.inner.db
    }

    pub(crate) fn cf_log(&self) -> &ColumnFamily {
        self.inner
            .db
            .cf_handle(CF_LOG)
            .expect("log column family is created at open")
    }

    pub(crate) fn cf_state(&self) -> &ColumnFamily {
        self.inner
            .db
            .cf_handle(CF_STATE)
            .expect("state column family is created at open")
    }

    pub(crate) fn cf_index(&self) -> &ColumnFamily {
        self.inner
            .db
            .cf_handle(CF_INDEX)
            .expect("index column family is created at open")
    }

    fn cf_groups(&self) -> &ColumnFamily {
        self.inner
            .db
            .cf_handle(CF_GROUPS)
            .expect("groups column family is created at open")
    }

    /// Writes `batch` without waiting for durability: it is readable at once and
    /// survives a process crash, but not a power loss until the next fsync.
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), rocksdb::Error> {
        let mut opts = rocksdb::WriteOptions::default();
        opts.set_sync(false);
        self.inner.db.write_opt(batch, &opts)
    }

    /// Runs `completion` after the next WAL fsync, which covers every write
    /// made before this call.
    pub(crate) fn after_sync(&self, completion: SyncCompletion) {
        let tx = self.inner.sync_tx.lock().expect("sync sender lock").clone();
        match tx {
            Some(tx) => {
                if let Err(mpsc::SendError(completion)) = tx.send(completion) {
                    completion(Err(io::Error::other("storage syncer stopped")));
                }
            }
            None => completion(Err(io::Error::other("storage engine is shut down"))),
        }
    }

    /// Runs `completion` once a Raft log append written before this call is
    /// as durable as [`EngineOptions::fsync_log`] asks: after the next WAL
    /// fsync, or at once when log appends are not synced (the write already
    /// reached the OS).
    pub(crate) fn after_log_append(&self, completion: SyncCompletion) {
        if self.inner.fsync_log {
            self.after_sync(completion);
        } else {
            completion(Ok(()));
        }
    }

    /// Writes `batch` and waits until it is durable (shares the fsync with
    /// every other writer waiting at the same time).
    pub(crate) async fn write_durable(&self, batch: WriteBatch) -> io::Result<()> {
        self.write(batch).map_err(io::Error::other)?;
        self.sync().await
    }

    /// Waits until every write made before this call is durable.
    pub async fn sync(&self) -> io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.after_sync(Box::new(move |result| {
            let _ = tx.send(result);
        }));
        rx.await
            .map_err(|_| io::Error::other("storage syncer dropped a completion"))?
    }

    /// Records that this broker hosts `group`, with an owner-defined descriptor.
    pub async fn register_group(
        &self,
        group: GroupId,
        descriptor: &[u8],
    ) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf_groups(), keys::group_start(group), descriptor);
        self.write_durable(batch)
            .await
            .map_err(|source| StorageError::Durability {
                op: "register group",
                group,
                source,
            })
    }

    /// Every group recorded with [`Engine::register_group`], with its descriptor.
    pub fn groups(&self) -> Result<Vec<(GroupId, Vec<u8>)>, StorageError> {
        let mut out = Vec::new();
        for item in self
            .inner
            .db
            .iterator_cf(self.cf_groups(), IteratorMode::Start)
        {
            let (key, value) = item.map_err(|source| StorageError::Io {
                op: "list groups",
                group: 0,
                source,
            })?;
            if let Some(group) = keys::key_group(&key) {
                out.push((group, value.to_vec()));
            }
        }
        Ok(out)
    }

    /// Deletes every key of `group` (log, vote, snapshot, state, descriptor) durably.
    /// The caller must have stopped the group's Raft node first.
    pub async fn delete_group(&self, group: GroupId) -> Result<(), StorageError> {
        let (start, end) = (keys::group_start(group), keys::group_end(group));
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf_log(), start, end);
        batch.delete_range_cf(self.cf_state(), start, end);
        batch.delete_range_cf(self.cf_index(), start, end);
        batch.delete_cf(self.cf_groups(), start);
        self.write_durable(batch)
            .await
            .map_err(|source| StorageError::Durability {
                op: "delete group",
                group,
                source,
            })?;
        // Reclaim the space now rather than at the next natural compaction.
        self.inner
            .db
            .compact_range_cf(self.cf_log(), Some(start), Some(end));
        Ok(())
    }

    /// Compacts `group`'s log up to `upto` (inclusive) and its index, after
    /// a purge, so the disk space of deleted records is given back now rather
    /// than at the next natural compaction.
    pub async fn compact_log(&self, group: GroupId, upto: u64) {
        let engine = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let db = &engine.inner.db;
            let start = keys::log_key(group, 0);
            let end = keys::log_key(group, upto.saturating_add(1));
            db.compact_range_cf(engine.cf_log(), Some(start), Some(end));
            let (start, end) = (keys::group_start(group), keys::group_end(group));
            db.compact_range_cf(engine.cf_index(), Some(start), Some(end));
        })
        .await;
    }

    /// Group-commit counters since open.
    /// Flushes every memtable to SST files and waits until RocksDB has no
    /// flush or compaction pending or running: after it, every byte this
    /// database will write for what it holds now has been written (used to
    /// measure write amplification).
    pub fn settle(&self) -> Result<(), rocksdb::Error> {
        let db = &self.inner.db;
        for cf in [CF_LOG, CF_STATE, CF_GROUPS, CF_INDEX] {
            let handle = db
                .cf_handle(cf)
                .expect("column families are created at open");
            db.flush_cf(handle)?;
        }
        let busy = |property: &str| {
            db.property_int_value(property)
                .ok()
                .flatten()
                .is_some_and(|v| v > 0)
        };
        while busy("rocksdb.compaction-pending")
            || busy("rocksdb.num-running-compactions")
            || busy("rocksdb.num-running-flushes")
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn stats(&self) -> EngineStats {
        EngineStats {
            durable_writes: self.inner.stats.durable_writes.load(Ordering::Relaxed),
            fsyncs: self.inner.stats.fsyncs.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel stops the syncer after it ran every queued completion.
        self.sync_tx.lock().map(|mut tx| tx.take()).ok();
        if let Some(handle) = self.syncer.lock().ok().and_then(|mut h| h.take()) {
            let _ = handle.join();
        }
    }
}

fn run_syncer(db: &DB, rx: &mpsc::Receiver<SyncCompletion>, stats: &Counters) {
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        waiting.extend(rx.try_iter());
        let started = std::time::Instant::now();
        let result = db.flush_wal(true);
        let storage = &cairn_common::metrics::metrics().storage;
        storage
            .fsync_duration
            .observe(started.elapsed().as_secs_f64());
        storage.appends_per_fsync.observe(waiting.len() as f64);
        stats.fsyncs.fetch_add(1, Ordering::Relaxed);
        stats
            .durable_writes
            .fetch_add(waiting.len() as u64, Ordering::Relaxed);
        if let Err(e) = &result {
            tracing::error!(error = %e, "WAL fsync failed; failing {} waiting writes", waiting.len());
        }
        for completion in waiting {
            completion(result.clone().map_err(io::Error::other));
        }
    }
}
