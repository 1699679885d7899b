//! Changing the metadata group's voters on a running 5-broker cluster:
//! from {1,2,3} to {c,4,5} (c the controller) by `cairn controller add-voter` and
//! `remove-voter` (joint consensus), while topics are created and deleted
//! without a failure; then the new voters elect a controller when the
//! controller is SIGKILLed, and a former voter restarted with its old
//! `controller_voters` config rejoins as a learner.

mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use support::{fails, ok, TestCluster};

/// (controller, voters, learners) from `cairn controller status` on broker `via`.
fn quorum(cluster: &TestCluster, via: u64) -> Option<(u64, BTreeSet<u64>, BTreeSet<u64>)> {
    let out = cluster.cli(via, &["controller", "status", "--output", "json"]);
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let ids = |k: &str| -> BTreeSet<u64> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(|m| m["id"].as_u64()).collect())
            .unwrap_or_default()
    };
    Some((v["controller"].as_u64()?, ids("voters"), ids("learners")))
}

#[test]
fn metadata_voters_change_from_1_2_3_to_the_controller_4_and_5_while_topics_come_and_go() {
    let mut cluster = TestCluster::start(5);
    cluster.wait_formed(1, &[1, 2, 3, 4, 5]);
    cluster.wait_for(
        "brokers 4 and 5 as metadata learners",
        Duration::from_secs(30),
        || {
            let (_, voters, learners) = quorum(&cluster, 1)?;
            (voters == BTreeSet::from([1, 2, 3]) && learners == BTreeSet::from([4, 5]))
                .then_some(())
        },
    );

    // The controller stays a voter (a controller does not remove itself:
    // it would have to hand its role over first, which a busy metadata log
    // can delay); the other two of 1, 2, 3 give way to 4 and 5.
    let (keep, _, _) = cluster.wait_for("a controller", Duration::from_secs(30), || {
        quorum(&cluster, 3)
    });
    let leaving: Vec<String> = [1u64, 2, 3]
        .iter()
        .filter(|b| **b != keep)
        .map(u64::to_string)
        .collect();
    let new_voters = BTreeSet::from([keep, 4, 5]);
    let new_learners: BTreeSet<u64> = [1u64, 2, 3].into_iter().filter(|b| *b != keep).collect();

    // Topics come and go all along.
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        let admin = cluster.admin(5);
        let bin = support::cairn_bin();
        std::thread::spawn(move || {
            let (mut done, mut failed) = (0, Vec::new());
            let run = |args: &[&str]| {
                std::process::Command::new(bin)
                    .args(args)
                    .env("CAIRN_ADMIN", &admin)
                    .output()
                    .unwrap()
            };
            while !stop.load(Ordering::Relaxed) {
                let name = format!("churn-{done}");
                for args in [
                    vec!["topic", "create", &name, "-p", "1", "-r", "3"],
                    vec!["topic", "delete", &name],
                ] {
                    let out = run(&args);
                    if !out.status.success() {
                        failed.push(format!(
                            "{args:?}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        ));
                    }
                }
                done += 1;
            }
            (done, failed)
        })
    };

    for (action, id) in [
        ("add-voter", "4"),
        ("add-voter", "5"),
        ("remove-voter", leaving[0].as_str()),
        ("remove-voter", leaving[1].as_str()),
    ] {
        // A learner may still be catching up right after it joined.
        cluster.wait_for(&format!("{action} {id}"), Duration::from_secs(30), || {
            cluster
                .cli(keep, &["controller", action, id])
                .status
                .success()
                .then_some(())
        });
    }
    let (controller, voters, learners) = cluster.wait_for(
        "a controller among the new voters",
        Duration::from_secs(15),
        || quorum(&cluster, 4).filter(|(c, voters, _)| voters.contains(c)),
    );
    assert_eq!(voters, new_voters);
    assert_eq!(learners, new_learners);
    stop.store(true, Ordering::Relaxed);
    let (done, failed) = churn.join().unwrap();
    println!("{done} topics created and deleted while the voters changed");
    assert!(failed.is_empty(), "{failed:?}");
    assert!(done > 0);

    // Bad requests are named.
    let err = fails(&cluster.cli(keep, &["controller", "remove-voter", &leaving[0]]));
    assert!(err.contains("not a metadata voter"), "{err}");
    let err = fails(&cluster.cli(keep, &["controller", "add-voter", "9"]));
    assert!(err.contains("not a metadata learner"), "{err}");
    // The status table names every member.
    let table = ok(&cluster.cli(1, &["controller", "status"]));
    assert!(
        table.contains("learner") && table.contains("voter"),
        "{table}"
    );

    // The new voters elect a new controller when it dies; a former voter,
    // started again with its old controller_voters (1,2,3), rejoins as a
    // learner.
    cluster.kill(controller);
    let former: u64 = leaving[0].parse().unwrap();
    let status = cluster.terminate(former, Duration::from_secs(30)).unwrap();
    assert!(status.success());
    cluster.spawn(former);
    let survivor = *voters.iter().find(|v| **v != controller).unwrap();
    let (new_controller, _, _) =
        cluster.wait_for("a new controller", Duration::from_secs(30), || {
            quorum(&cluster, survivor).filter(|(c, _, _)| *c != controller)
        });
    assert!(voters.contains(&new_controller), "{new_controller}");
    cluster.spawn(controller);
    cluster.wait_formed(survivor, &[1, 2, 3, 4, 5]);
    ok(&cluster.cli(former, &["topic", "create", "after", "-p", "1", "-r", "3"]));
    let (_, voters_after, learners_after) = quorum(&cluster, former).unwrap();
    assert_eq!(voters_after, new_voters);
    assert_eq!(learners_after, new_learners);
}
