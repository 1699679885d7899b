//! Errors of the storage engine: [`StorageError`] outside openraft's traits,
//! and the helpers that wrap a failure into openraft's `StorageError` inside
//! them (naming the state machine or the snapshot as the subject).

use std::path::PathBuf;

use openraft::{AnyError, ErrorSubject, ErrorVerb, StorageIOError};

/// What went wrong in the storage engine, and with which input.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// RocksDB refused to open the data directory.
    #[error("cannot open RocksDB at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rocksdb::Error,
    },
    /// A read or write failed.
    #[error("RocksDB {op} failed for group {group}: {source}")]
    Io {
        op: &'static str,
        group: u64,
        #[source]
        source: rocksdb::Error,
    },
    /// A stored value could not be decoded.
    #[error("corrupt {what} for group {group}: {source}")]
    Corrupt {
        what: &'static str,
        group: u64,
        #[source]
        source: bincode::Error,
    },
    /// A write could not be made durable (the WAL fsync failed).
    #[error("cannot make {op} durable for group {group}: {source}")]
    Durability {
        op: &'static str,
        group: u64,
        #[source]
        source: std::io::Error,
    },
    /// The syncer thread could not be started.
    #[error("cannot start the storage syncer thread: {0}")]
    Syncer(#[source] std::io::Error),
    /// The syncer thread is gone (the engine is shutting down).
    #[error("storage engine is shut down")]
    ShutDown,
}

/// A state machine read or write failed, as openraft reports it.
pub(crate) fn sm_err(
    verb: ErrorVerb,
    e: impl std::error::Error + 'static,
) -> openraft::StorageError<u64> {
    StorageIOError::new(ErrorSubject::StateMachine, verb, AnyError::new(&e)).into()
}

/// A snapshot read or write failed, as openraft reports it.
pub(crate) fn snapshot_err(
    verb: ErrorVerb,
    e: impl std::error::Error + 'static,
) -> openraft::StorageError<u64> {
    StorageIOError::new(ErrorSubject::Snapshot(None), verb, AnyError::new(&e)).into()
}
