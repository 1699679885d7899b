//! The Kafka listener on bytes, against a real broker process: ApiVersions
//! (including an unsupported version), Metadata, and bad input — truncated
//! frames, negative and oversized sizes, unknown API keys, unsupported
//! versions, garbage headers. Each bad request gets the protocol's error or a
//! closed connection, and the broker keeps serving other clients. Then kcat,
//! a real client from Debian, lists the cluster.

mod support;

use std::io::Write;
use std::time::Duration;

use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest, MetadataResponse,
};
use kafka_protocol::protocol::StrBytes;
use support::wire::{closed, connect, read_frame, request, response};
use support::{ok, TestCluster};

fn api_versions_ok(port: u16) {
    let mut s = connect(port);
    s.write_all(&request(
        ApiKey::ApiVersions,
        3,
        1,
        &ApiVersionsRequest::default(),
    ))
    .unwrap();
    let (cid, r): (i32, ApiVersionsResponse) =
        response(read_frame(&mut s).expect("answer"), ApiKey::ApiVersions, 3);
    assert_eq!((cid, r.error_code), (1, 0));
}

#[test]
fn kafka_listener_answers_and_survives_bad_input() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    ok(&cluster.cli(1, &["topic", "create", "trucks", "-p", "3", "-r", "3"]));
    let port = cluster.brokers[&1].kafka;

    // ApiVersions v3, then pipelined requests answered in order on one connection.
    let mut s = connect(port);
    let mut pipelined = request(ApiKey::ApiVersions, 3, 10, &ApiVersionsRequest::default());
    pipelined.extend(request(
        ApiKey::ApiVersions,
        0,
        11,
        &ApiVersionsRequest::default(),
    ));
    pipelined.extend(request(
        ApiKey::Metadata,
        1,
        12,
        &MetadataRequest::default().with_topics(None),
    ));
    s.write_all(&pipelined).unwrap();
    let (cid, v3): (i32, ApiVersionsResponse) =
        response(read_frame(&mut s).unwrap(), ApiKey::ApiVersions, 3);
    assert_eq!((cid, v3.error_code), (10, 0));
    let metadata = v3
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Metadata as i16)
        .expect("Metadata listed");
    assert_eq!((metadata.min_version, metadata.max_version), (0, 13));
    let (cid, _): (i32, ApiVersionsResponse) =
        response(read_frame(&mut s).unwrap(), ApiKey::ApiVersions, 0);
    assert_eq!(cid, 11);
    let (cid, _): (i32, MetadataResponse) =
        response(read_frame(&mut s).unwrap(), ApiKey::Metadata, 1);
    assert_eq!(cid, 12);

    // Metadata v12 for every topic, once every partition has a leader.
    let meta = cluster.wait_for(
        "metadata with three led partitions",
        Duration::from_secs(30),
        || {
            let mut s = connect(port);
            s.write_all(&request(
                ApiKey::Metadata,
                12,
                20,
                &MetadataRequest::default().with_topics(None),
            ))
            .unwrap();
            let (_, m): (i32, MetadataResponse) =
                response(read_frame(&mut s)?, ApiKey::Metadata, 12);
            let t = m
                .topics
                .iter()
                .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "trucks"))?;
            (t.partitions.len() == 3
                && t.partitions
                    .iter()
                    .all(|p| p.leader_id.0 > 0 && p.error_code == 0))
            .then_some(m)
        },
    );
    assert_eq!(meta.brokers.len(), 3);
    assert!(meta.controller_id.0 >= 1);
    for p in &meta.topics[0].partitions {
        assert_eq!(p.replica_nodes.len(), 3);
        assert_eq!(p.isr_nodes.len(), 3);
    }

    // An unknown topic the client does not let the broker create:
    // UNKNOWN_TOPIC_OR_PARTITION (3).
    let mut s = connect(port);
    let topic = kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
        .with_name(Some(kafka_protocol::messages::TopicName(
            StrBytes::from_static_str("nope"),
        )));
    s.write_all(&request(
        ApiKey::Metadata,
        4,
        30,
        &MetadataRequest::default()
            .with_topics(Some(vec![topic]))
            .with_allow_auto_topic_creation(false),
    ))
    .unwrap();
    let (_, m): (i32, MetadataResponse) =
        response(read_frame(&mut s).unwrap(), ApiKey::Metadata, 4);
    assert_eq!(m.topics[0].error_code, 3);

    // ApiVersions at an unsupported version: v0 response, UNSUPPORTED_VERSION, full list.
    let mut s = connect(port);
    let mut raw = request(ApiKey::ApiVersions, 0, 40, &ApiVersionsRequest::default());
    raw[6..8].copy_from_slice(&99i16.to_be_bytes());
    s.write_all(&raw).unwrap();
    let (cid, r): (i32, ApiVersionsResponse) =
        response(read_frame(&mut s).unwrap(), ApiKey::ApiVersions, 0);
    assert_eq!((cid, r.error_code), (40, 35));
    assert!(r
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::ApiVersions as i16 && k.max_version == 4));

    // Bad input: each closes its connection; the broker keeps serving.
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("negative size", (-1i32).to_be_bytes().to_vec()),
        ("oversized frame", (200i32 << 20).to_be_bytes().to_vec()),
        (
            "frame shorter than a header",
            [&4i32.to_be_bytes()[..], &[0, 3, 0, 1]].concat(),
        ),
        ("unknown API key", {
            let mut r = request(ApiKey::ApiVersions, 0, 1, &ApiVersionsRequest::default());
            r[4..6].copy_from_slice(&999i16.to_be_bytes());
            r
        }),
        ("unsupported Metadata version", {
            let mut r = request(ApiKey::Metadata, 1, 1, &MetadataRequest::default());
            r[6..8].copy_from_slice(&77i16.to_be_bytes());
            r
        }),
        ("unsupported API (Produce)", {
            let mut r = request(ApiKey::ApiVersions, 0, 1, &ApiVersionsRequest::default());
            r[4..6].copy_from_slice(&(ApiKey::Produce as i16).to_be_bytes());
            r
        }),
        ("two billion topics in a 16-byte Metadata request", {
            let mut r = request(
                ApiKey::Metadata,
                1,
                1,
                &MetadataRequest::default().with_topics(Some(vec![])),
            );
            let n = r.len();
            r[n - 4..].copy_from_slice(&i32::MAX.to_be_bytes());
            r
        }),
        (
            "garbage header",
            [
                &12i32.to_be_bytes()[..],
                &[0, 3, 0, 9, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff],
            ]
            .concat(),
        ),
    ];
    for (what, bytes) in bad {
        let mut s = connect(port);
        s.write_all(&bytes).unwrap();
        assert!(closed(&mut s), "{what}: connection not closed");
        api_versions_ok(port);
    }
    // A truncated frame from a client that goes away.
    {
        let mut s = connect(port);
        let r = request(ApiKey::Metadata, 1, 1, &MetadataRequest::default());
        s.write_all(&r[..r.len() - 3]).unwrap();
    }
    api_versions_ok(port);
    assert_eq!(cluster.get(1, "/health").unwrap()["status"], "ok");

    // kcat (librdkafka) lists brokers, topic and partitions.
    let out = std::process::Command::new("kcat")
        .args(["-b", &format!("127.0.0.1:{port}"), "-L", "-J", "-m", "10"])
        .output()
        .expect("kcat is installed by scripts/setup.sh");
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("kcat -L -J: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(listing["brokers"].as_array().unwrap().len(), 3, "{listing}");
    let trucks = listing["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "trucks")
        .expect("topic listed");
    assert_eq!(trucks["partitions"].as_array().unwrap().len(), 3);
    assert!(trucks["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["leader"].as_i64().unwrap() >= 1));

    // kcat produces with acks=all and gzip, then consumes what it wrote.
    let brokers = format!("127.0.0.1:{port}");
    let mut producer = std::process::Command::new("kcat")
        .args([
            "-b", &brokers, "-P", "-t", "trucks", "-p", "2", "-X", "acks=all", "-z", "gzip",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    producer
        .stdin
        .take()
        .unwrap()
        .write_all(b"first\nsecond\nthird\n")
        .unwrap();
    assert!(producer.wait().unwrap().success(), "kcat -P failed");
    let out = std::process::Command::new("kcat")
        .args([
            "-b",
            &brokers,
            "-C",
            "-t",
            "trucks",
            "-p",
            "2",
            "-o",
            "beginning",
            "-c",
            "3",
            "-e",
            "-f",
            "%o %s\n",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0 first\n1 second\n2 third\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
