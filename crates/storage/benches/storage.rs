//! Storage micro-benchmarks (criterion): the partition log through Raft in
//! one process (`single_node::NoPeers`), so each append pays what a broker's
//! replica pays locally: the Raft log write, the group-commit fsync, apply
//! (offset assignment and the index row).
//!
//! - `append/single_group`: 64 concurrent appends of one 16 KiB batch to one group.
//! - `append/many_groups`: one 16 KiB append to each of 100 groups, concurrently.
//! - `fetch/sequential`: reading a filled partition from the start in 1 MiB fetches.
//! - write amplification (printed after criterion): bytes the process wrote to
//!   disk (`/proc/self/io` `write_bytes`, so WAL, flushes and compactions)
//!   per byte of record batch appended, after RocksDB settled.
//!
//! Run: `just bench-storage` (or `cargo bench -p cairn-storage --bench storage`).

use std::collections::BTreeMap;
#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!
use std::sync::Arc;

use cairn_common::batch;
use cairn_storage::single_node::NoPeers;
use cairn_storage::{
    Engine, EngineOptions, LogStore, PartitionReader, PartitionRequest, PartitionResponse,
    PartitionStore,
};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use openraft::{BasicNode, Raft};
use serde_bytes::ByteBuf;

openraft::declare_raft_types!(
    pub Bench: D = PartitionRequest, R = PartitionResponse
);

/// 16 records of 1 KiB of incompressible bytes.
fn batch_16k(seed: u64) -> ByteBuf {
    let mut x = seed | 1;
    let values: Vec<Vec<u8>> = (0..16)
        .map(|_| {
            (0..1024)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    ByteBuf::from(batch::build(&refs, 1_700_000_000_000))
}

async fn group(engine: &Engine, id: u64) -> (Raft<Bench>, PartitionReader<Bench>) {
    let config = Arc::new(
        openraft::Config {
            snapshot_policy: openraft::SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: 0,
            purge_batch_size: 1,
            ..Default::default()
        }
        .validate()
        .expect("valid raft config"),
    );
    let sm = PartitionStore::<Bench>::open(engine.clone(), id).expect("open partition");
    let reader = sm.reader();
    let raft = Raft::new(1, config, NoPeers, LogStore::new(engine.clone(), id), sm)
        .await
        .expect("start group");
    raft.initialize(BTreeMap::from([(1, BasicNode::default())]))
        .await
        .expect("initialize");
    raft.wait(None)
        .state(openraft::ServerState::Leader, "leader")
        .await
        .expect("leader");
    (raft, reader)
}

async fn append(raft: &Raft<Bench>, b: &ByteBuf) {
    raft.client_write(PartitionRequest::Append {
        batches: vec![b.clone()],
    })
    .await
    .expect("append");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn appends(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let engine = Engine::open(dir.path(), &EngineOptions::default()).expect("open engine");
    let b = batch_16k(7);
    let mut g = c.benchmark_group("append");
    g.sample_size(20);

    let (single, _) = rt.block_on(group(&engine, 1));
    g.throughput(Throughput::Bytes(64 * b.len() as u64));
    g.bench_function(BenchmarkId::new("single_group", "64x16KiB"), |bench| {
        bench
            .to_async(&rt)
            .iter(|| futures::future::join_all((0..64).map(|_| append(&single, &b))));
    });

    let many: Vec<Raft<Bench>> = rt.block_on(async {
        let mut all = Vec::new();
        for id in 100..200 {
            all.push(group(&engine, id).await.0);
        }
        all
    });
    g.throughput(Throughput::Bytes(many.len() as u64 * b.len() as u64));
    g.bench_function(BenchmarkId::new("many_groups", "100x16KiB"), |bench| {
        bench
            .to_async(&rt)
            .iter(|| futures::future::join_all(many.iter().map(|raft| append(raft, &b))));
    });
    g.finish();
    rt.block_on(async {
        for raft in many.iter().chain(std::iter::once(&single)) {
            let _ = raft.shutdown().await;
        }
    });
}

fn fetches(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let engine = Engine::open(dir.path(), &EngineOptions::default()).expect("open engine");
    let (raft, reader) = rt.block_on(group(&engine, 1));
    // 64 MiB of records.
    let b = batch_16k(9);
    rt.block_on(async {
        for _ in 0..64 {
            futures::future::join_all((0..64).map(|_| append(&raft, &b))).await;
        }
    });
    let end = reader.high_watermark();
    let mut g = c.benchmark_group("fetch");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(64 * 64 * b.len() as u64));
    g.bench_function("sequential_1MiB_fetches", |bench| {
        bench.iter(|| {
            let mut offset = 0;
            let mut bytes = 0;
            while offset < end {
                let read = reader.read(offset, 1 << 20).expect("read");
                let next = next_offset(&read.bytes);
                assert!(next > offset, "no progress at {offset}");
                bytes += read.bytes.len();
                offset = next;
            }
            bytes
        });
    });
    g.finish();
    let _ = rt.block_on(raft.shutdown());
}

/// The offset after the last batch of a fetch.
fn next_offset(mut bytes: &[u8]) -> u64 {
    let mut next = 0;
    while !bytes.is_empty() {
        let header = batch::parse_header(bytes).expect("stored batch");
        let base = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
        next = base + batch::offset_count(&header).expect("stored batches span offsets");
        bytes = &bytes[header.size..];
    }
    next
}

fn write_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("write_bytes: "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Appends `total` bytes of batches spread over `groups` groups and reports
/// disk bytes written per batch byte, once RocksDB has flushed and compacted.
fn write_amplification(groups: u64, total: u64) {
    let rt = runtime();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let engine = Engine::open(dir.path(), &EngineOptions::default()).expect("open engine");
    let rafts: Vec<Raft<Bench>> = rt
        .block_on(async {
            futures::future::join_all((1..=groups).map(|g| group(&engine, g))).await
        })
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let b = batch_16k(11);
    let rounds = total / (b.len() as u64 * groups);
    let before = write_bytes();
    rt.block_on(async {
        for _ in 0..rounds {
            futures::future::join_all(rafts.iter().map(|r| append(r, &b))).await;
        }
    });
    engine.settle().expect("flush");
    let written = write_bytes() - before;
    let payload = rounds * groups * b.len() as u64;
    println!(
        "write amplification, {groups} group(s), {} MiB of batches: {:.2} bytes written per batch byte ({} MiB written)",
        payload >> 20,
        written as f64 / payload as f64,
        written >> 20
    );
    rt.block_on(async {
        for r in &rafts {
            let _ = r.shutdown().await;
        }
    });
}

criterion_group!(benches, appends, fetches);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if write_bytes() == 0 && std::fs::metadata("/proc/self/io").is_err() {
        println!("write amplification: /proc/self/io is not available here");
        return;
    }
    write_amplification(1, 512 << 20);
    write_amplification(100, 512 << 20);
}
