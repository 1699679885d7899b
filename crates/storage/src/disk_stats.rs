//! What the engine's RocksDB holds and owes, for the metrics: bytes on disk
//! by column family (SST and blob files), memtables, compaction debt, the
//! write-ahead log, and whether writes are stopped or slowed. Read from
//! RocksDB's properties and the WAL files at the moment of asking.

use crate::engine::COLUMN_FAMILIES;
use crate::Engine;

/// One column family's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnFamilyStats {
    /// Its name (`log`, `state`, `groups`, `index`).
    pub name: &'static str,
    /// Bytes of its live SST files.
    pub sst_bytes: u64,
    /// Bytes of its live blob files (log entries' payloads).
    pub blob_bytes: u64,
    /// Bytes in its memtables.
    pub memtable_bytes: u64,
    /// Bytes RocksDB estimates compactions still have to rewrite.
    pub pending_compaction_bytes: u64,
}

/// The engine's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub column_families: Vec<ColumnFamilyStats>,
    /// Bytes of write-ahead log files.
    pub wal_bytes: u64,
    /// Whether RocksDB stops writes right now (too many memtables or L0 files).
    pub writes_stopped: bool,
    /// The rate RocksDB slows writes to, bytes per second; 0 when it does not.
    pub delayed_write_rate: u64,
}

impl Engine {
    /// The engine's figures now (a property RocksDB cannot answer counts 0).
    pub fn disk_stats(&self) -> DiskStats {
        let db = self.db();
        let cf_int = |name: &str, property: &str| {
            db.cf_handle(name)
                .and_then(|cf| db.property_int_value_cf(&cf, property).ok().flatten())
                .unwrap_or(0)
        };
        let column_families = COLUMN_FAMILIES
            .iter()
            .map(|&name| ColumnFamilyStats {
                name,
                sst_bytes: cf_int(name, "rocksdb.live-sst-files-size"),
                blob_bytes: cf_int(name, "rocksdb.live-blob-file-size"),
                memtable_bytes: cf_int(name, "rocksdb.cur-size-all-mem-tables"),
                pending_compaction_bytes: cf_int(name, "rocksdb.estimate-pending-compaction-bytes"),
            })
            .collect();
        let db_int = |property: &str| db.property_int_value(property).ok().flatten().unwrap_or(0);
        // RocksDB keeps its WAL files, `NNNNNN.log`, in the database directory.
        let wal_bytes = std::fs::read_dir(self.path())
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        DiskStats {
            column_families,
            wal_bytes,
            writes_stopped: db_int("rocksdb.is-write-stopped") != 0,
            delayed_write_rate: db_int("rocksdb.actual-delayed-write-rate"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, EngineOptions};
    use rocksdb::WriteBatch;

    #[test]
    fn written_bytes_show_in_the_wal_then_in_files_after_a_flush() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::default()).unwrap();
        let empty = engine.disk_stats();
        assert_eq!(
            empty
                .column_families
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>(),
            ["log", "state", "groups", "index"]
        );
        assert!(!empty.writes_stopped);
        let mut batch = WriteBatch::default();
        // Incompressible values, so that the files' sizes show the bytes.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0u32..64 {
            let value: Vec<u8> = (0..16 << 10)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            batch.put_cf(engine.cf_log(), i.to_be_bytes(), value);
        }
        engine.db().write(batch).unwrap();
        let written = engine.disk_stats();
        assert!(written.wal_bytes >= 1 << 20, "{written:?}");
        assert!(
            written.column_families[0].memtable_bytes > empty.column_families[0].memtable_bytes
        );
        engine.settle().unwrap();
        let flushed = engine.disk_stats();
        let log = &flushed.column_families[0];
        assert!(log.sst_bytes + log.blob_bytes >= 1 << 20, "{flushed:?}");
    }
}
