//! Crash safety: a writer process is SIGKILLed in the middle of appends, three
//! times over on the same data. After every kill the store must reopen with a
//! contiguous, decodable log that holds every write reported durable, and a
//! vote no older than any term seen before.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cairn_storage::{Engine, EngineOptions, LogStore, PartitionRequest, PartitionResponse};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use openraft::storage::{RaftLogReader, RaftLogStorage};

#[allow(unused_imports)]
use std::io::Cursor; // named by declare_raft_types!

openraft::declare_raft_types!(
    pub CrashTest: D = PartitionRequest, R = PartitionResponse
);

const GROUPS: u64 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_append_leaves_a_consistent_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut highest_term_seen: BTreeMap<u64, u64> = BTreeMap::new();
    for round in 0..3 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn-storage-crash-writer"))
            .arg(dir.path())
            .arg(GROUPS.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start writer");
        let stdout = child.stdout.take().unwrap();
        // Read acks on a thread until EOF; once enough arrived, kill mid-stream.
        let (enough_tx, enough_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut acked: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
            let mut count = 0;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let parts: Vec<u64> = line
                    .split_whitespace()
                    .skip(1)
                    .map(|p| p.parse().unwrap())
                    .collect();
                let entry = acked.entry(parts[0]).or_default();
                *entry = (entry.0.max(parts[1]), entry.1.max(parts[2]));
                count += 1;
                if count == 2000 {
                    let _ = enough_tx.send(());
                }
            }
            acked
        });
        let _ = enough_rx.recv_timeout(Duration::from_secs(60));
        kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        assert!(
            acked.len() as u64 >= GROUPS / 2,
            "round {round}: too few groups wrote: {acked:?}"
        );

        let engine =
            Engine::open(dir.path(), &EngineOptions::default()).expect("reopen after SIGKILL");
        for group in 1..=GROUPS {
            let mut log = LogStore::<CrashTest>::new(engine.clone(), group);
            let state = log.get_log_state().await.unwrap();
            let last = state.last_log_id.expect("every group has a log").index;
            let first = state.last_purged_log_id.map_or(0, |p| p.index + 1);
            let entries = log
                .try_get_log_entries(first..=last)
                .await
                .expect("every entry decodes");
            let indexes: Vec<u64> = entries.iter().map(|e| e.log_id.index).collect();
            assert_eq!(
                indexes,
                (first..=last).collect::<Vec<_>>(),
                "round {round}, group {group}: log has holes"
            );
            let vote = log.read_vote().await.unwrap().expect("vote saved");
            if let Some(&(acked_index, acked_term)) = acked.get(&group) {
                assert!(
                    last >= acked_index,
                    "round {round}, group {group}: acked index {acked_index} lost (last {last})"
                );
                assert!(
                    vote.leader_id.term >= acked_term,
                    "round {round}, group {group}: vote behind an acked term"
                );
            }
            let seen = highest_term_seen.entry(group).or_default();
            assert!(
                vote.leader_id.term >= *seen,
                "round {round}, group {group}: vote went backwards"
            );
            *seen = vote.leader_id.term;
        }
    }
}
