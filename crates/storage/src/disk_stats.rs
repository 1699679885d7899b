//! What the engine's RocksDB holds and owes, for the metrics: bytes on disk
//! by column family (SST and blob files), memtables, compaction debt, the
//! write-ahead log, whether writes are stopped or slowed, and for how long
//! they have been stalled in all. Read from RocksDB's properties and the WAL
//! files at the moment of asking.

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
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiskStats {
    pub column_families: Vec<ColumnFamilyStats>,
    /// Bytes of write-ahead log files.
    pub wal_bytes: u64,
    /// Whether RocksDB stops writes right now (too many memtables or L0 files).
    pub writes_stopped: bool,
    /// The rate RocksDB slows writes to, bytes per second; 0 when it does not.
    pub delayed_write_rate: u64,
    /// Seconds writes have been stalled (slowed or stopped) since the
    /// database was opened; `None` if RocksDB's report could not be read.
    pub stall_seconds: Option<f64>,
}

/// The cumulative write stall in RocksDB's `rocksdb.dbstats` report, in
/// seconds: its line `Cumulative stall: HH:MM:SS.fff H:M:S, P percent`.
/// (RocksDB's statistics object has the same as a ticker, but turning
/// statistics on costs every operation; this report is computed on demand.)
pub fn parse_cumulative_stall(dbstats: &str) -> Option<f64> {
    let line = dbstats
        .lines()
        .find_map(|l| l.trim().strip_prefix("Cumulative stall:"))?;
    let clock = line.split_whitespace().next()?;
    let mut parts = clock.split(':');
    let hours: f64 = parts.next()?.parse().ok()?;
    let minutes: f64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(hours * 3600.0 + minutes * 60.0 + seconds)
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
            stall_seconds: db
                .property_value("rocksdb.dbstats")
                .ok()
                .flatten()
                .as_deref()
                .and_then(parse_cumulative_stall),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_cumulative_stall;
    use crate::{Engine, EngineOptions};
    use rocksdb::WriteBatch;

    #[test]
    fn the_cumulative_stall_is_read_from_rocksdbs_report() {
        let report = "\n** DB Stats **\nUptime(secs): 12.0 total, 12.0 interval\n\
            Cumulative writes: 10 writes, 10 keys, 10 commit groups, 1.0 writes per commit group\n\
            Cumulative stall: 01:02:3.500 H:M:S, 0.5 percent\n\
            Interval stall: 00:00:0.000 H:M:S, 0.0 percent\n";
        assert_eq!(parse_cumulative_stall(report), Some(3723.5));
        assert_eq!(parse_cumulative_stall("Cumulative stall: soon"), None);
        assert_eq!(parse_cumulative_stall("no stall line"), None);
    }

    #[test]
    fn a_real_database_reports_its_stall_time() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &EngineOptions::default()).unwrap();
        // A fresh database has stalled for no time, and says so.
        assert_eq!(engine.disk_stats().stall_seconds, Some(0.0));
    }

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
