//! Errors of the broker process.

/// What stopped the broker from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A listener could not be bound.
    #[error("cannot listen on {what} address {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The storage engine failed.
    #[error(transparent)]
    Storage(#[from] cairn_storage::StorageError),
    /// A Raft group could not be started or stopped.
    #[error("raft group {group}: {message}")]
    Raft { group: u64, message: String },
}
