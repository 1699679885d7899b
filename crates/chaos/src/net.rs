//! Network partitions between brokers on one machine.
//!
//! Every broker of a partitionable cluster listens on its own loopback
//! address (`127.0.1.<id>`) and dials its peers from it, so a packet's
//! addresses name its two brokers. A partition is a set of nftables rules in a
//! table this process owns (`cairn_chaos_<pid>`) that drop the packets between
//! the two sides in both directions: they vanish, nobody is told, TCP
//! retransmits into the void until the rules go. Healing flushes the rules;
//! dropping the [`Firewall`] deletes the table.
//!
//! Why nftables on loopback rather than namespaces or a proxy: a proxy only
//! sees the connections routed through it (each broker would need per-peer
//! addresses for the same peer), and namespaces need veth pairs and a bridge
//! for every broker. Distinct loopback addresses need nothing but one rule per
//! cut link, and the traffic never leaves `lo`. It needs root (CAP_NET_ADMIN)
//! and the `nft` tool (Debian: `nftables`); without them
//! [`Firewall::open`] says why and a chaos run goes on without the fault.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// The loopback address broker `id` uses in a partitionable cluster.
pub fn broker_ip(id: u64) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, (id % 250) as u8 + 1)
}

/// An nftables table owned by this process.
#[derive(Debug)]
pub struct Firewall {
    table: String,
}

fn nft(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .arg("-f")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft ({e}); install it with `apt-get install nftables`"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(script.as_bytes())
        .map_err(|e| format!("cannot write to nft: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("nft failed: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft failed: {} (network partitions need root)",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The rules that cut every link between `a` and `b` (both directions).
pub fn cut_rules(table: &str, cuts: &[(Ipv4Addr, Ipv4Addr)]) -> String {
    let mut script = String::new();
    for (a, b) in cuts {
        for (from, to) in [(a, b), (b, a)] {
            script.push_str(&format!(
                "add rule inet {table} out ip saddr {from} ip daddr {to} drop\n"
            ));
        }
    }
    script
}

impl Firewall {
    /// Creates this process's table, removing tables left by chaos runs whose
    /// process is gone.
    pub fn open() -> Result<Firewall, String> {
        remove_stale_tables();
        let table = format!("cairn_chaos_{}", std::process::id());
        nft(&format!(
            "add table inet {table}\n\
             add chain inet {table} out {{ type filter hook output priority 0; policy accept; }}\n\
             flush chain inet {table} out\n"
        ))?;
        Ok(Firewall { table })
    }

    /// Replaces the current cuts with these: packets between each pair vanish.
    pub fn cut(&self, cuts: &[(Ipv4Addr, Ipv4Addr)]) -> Result<(), String> {
        let table = &self.table;
        nft(&format!(
            "flush chain inet {table} out\n{}",
            cut_rules(table, cuts)
        ))
    }

    /// Removes every cut.
    pub fn heal(&self) -> Result<(), String> {
        nft(&format!("flush chain inet {} out\n", self.table))
    }
}

impl Drop for Firewall {
    fn drop(&mut self) {
        let _ = nft(&format!("delete table inet {}\n", self.table));
    }
}

/// Deletes `cairn_chaos_<pid>` tables whose process no longer runs.
fn remove_stale_tables() {
    let Ok(out) = Command::new("nft").args(["list", "tables"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.strip_prefix("table inet cairn_chaos_") else {
            continue;
        };
        let Ok(pid) = name.trim().parse::<u32>() else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = nft(&format!("delete table inet cairn_chaos_{pid}\n"));
        }
    }
}

/// The pairs of brokers to cut so that the given sides cannot talk to each
/// other; a broker in no side keeps every link (a bridge).
pub fn cuts_between(sides: &[Vec<u64>]) -> Vec<(u64, u64)> {
    let mut cuts = Vec::new();
    for (i, a) in sides.iter().enumerate() {
        for b in &sides[i + 1..] {
            for x in a {
                for y in b {
                    cuts.push((*x, *y));
                }
            }
        }
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_every_link_across_sides_and_none_within() {
        let cuts = cuts_between(&[vec![1, 2], vec![3, 4]]);
        assert_eq!(cuts, vec![(1, 3), (1, 4), (2, 3), (2, 4)]);
        // A bridge: 5 is in no side and keeps both links.
        assert!(cuts.iter().all(|(a, b)| *a != 5 && *b != 5));
        assert!(cuts_between(&[vec![1, 2, 3]]).is_empty());
    }

    #[test]
    fn rules_drop_both_directions() {
        let ips = (broker_ip(1), broker_ip(2));
        assert_eq!(ips.0, Ipv4Addr::new(127, 0, 1, 2));
        let rules = cut_rules("t", &[ips]);
        assert_eq!(
            rules,
            "add rule inet t out ip saddr 127.0.1.2 ip daddr 127.0.1.3 drop\n\
             add rule inet t out ip saddr 127.0.1.3 ip daddr 127.0.1.2 drop\n"
        );
    }
}
