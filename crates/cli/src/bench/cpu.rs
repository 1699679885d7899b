//! CPU time of the servers under test, read from `/proc/PID/stat` at the
//! start and the end of the measured window: CPU-seconds per million
//! acknowledged messages is a figure that shared, noisy cores distort less
//! than throughput.

use std::time::Duration;

use anyhow::{anyhow, Context};
use cairn_common::proc_stat;

use super::Run;

/// The summed CPU ticks of `pids` now.
pub fn read_ticks(pids: &[u32]) -> anyhow::Result<u64> {
    pids.iter().try_fold(0, |sum, pid| {
        let path = format!("/proc/{pid}/stat");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--server-pid {pid}: cannot read {path}"))?;
        let t = proc_stat::cpu_ticks(&text)
            .ok_or_else(|| anyhow!("--server-pid {pid}: cannot parse {path}"))?;
        Ok(sum + t)
    })
}

/// Checks that every pid can be read before the run starts.
pub fn check(pids: &[u32]) -> anyhow::Result<()> {
    read_ticks(pids).map(drop)
}

/// CPU-seconds `pids` used during the run's measured window.
pub async fn during_window(run: &Run, pids: &[u32]) -> anyhow::Result<f64> {
    tokio::time::sleep(run.measure_from.saturating_sub(run.now())).await;
    let start = read_ticks(pids)?;
    tokio::time::sleep(run.measure_until.saturating_sub(run.now())).await;
    let end = read_ticks(pids)?;
    Ok(secs(start, end))
}

/// Bytes `pids` have caused to be written to storage so far, summed
/// (`write_bytes` of `/proc/PID/io`: what reached the block layer, so page
/// cache writes count once written back).
pub fn written_bytes(pids: &[u32]) -> anyhow::Result<u64> {
    pids.iter().try_fold(0, |sum, pid| {
        let path = format!("/proc/{pid}/io");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--server-pid {pid}: cannot read {path}"))?;
        let bytes = text
            .lines()
            .find_map(|l| l.strip_prefix("write_bytes:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| anyhow!("--server-pid {pid}: no write_bytes in {path}"))?;
        Ok(sum + bytes)
    })
}

/// CPU-seconds between two [`read_ticks`].
pub fn secs(start: u64, end: u64) -> f64 {
    end.saturating_sub(start) as f64 / proc_stat::TICKS_PER_SEC
}

/// CPU-seconds per million messages (None without messages).
pub fn per_million(cpu_secs: f64, messages: u64) -> Option<f64> {
    (messages > 0).then(|| cpu_secs * 1e6 / messages as f64)
}

/// How long to wait for the sampler after the producers are done.
pub const GRACE: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_readable_and_unknown_pids_name_the_pid() {
        check(&[std::process::id()]).unwrap();
        written_bytes(&[std::process::id()]).unwrap();
        let err = written_bytes(&[u32::MAX]).unwrap_err();
        assert!(err.to_string().contains(&u32::MAX.to_string()), "{err}");
        let err = check(&[u32::MAX]).unwrap_err();
        assert!(err.to_string().contains(&u32::MAX.to_string()), "{err}");
    }

    #[test]
    fn per_million_messages() {
        assert_eq!(per_million(3.0, 1_500_000), Some(2.0));
        assert_eq!(per_million(3.0, 0), None);
    }
}
