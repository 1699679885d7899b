//! What Kafka tools and test suites assume of a broker, against real broker
//! processes. Topic auto-creation (Kafka's `auto.create.topics.enable`), with
//! real librdkafka clients: a producer with default settings writes to a
//! topic nobody created and it appears with the broker's `num_partitions` and
//! a replication factor capped by the live brokers; a consumer (librdkafka
//! does not let consumers auto-create by default) and a Metadata request that
//! says `allow_auto_topic_creation = false` create nothing; internal and
//! invalid names are never created; a broker with the setting off answers
//! UNKNOWN_TOPIC_OR_PARTITION. Manual replica assignments in CreateTopics
//! and CreatePartitions (confluent-kafka and kafka-python admin clients,
//! tests/python/assignments.py). The broker configs clients read
//! (DescribeConfigs), DescribeLogDirs with each replica's size, and the ACL
//! APIs answering SECURITY_DISABLED (no authorizer) instead of closing the
//! connection.

mod support;

use std::time::Duration;

use kafka_protocol::messages::{
    ApiKey, CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse, DescribeLogDirsRequest, DescribeLogDirsResponse,
};
use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaRespErr;
use serde_json::Value;
use support::{wire, TestCluster};

/// Kafka's SECURITY_DISABLED: the broker has no authorizer.
const SECURITY_DISABLED: i16 = 54;

/// The topic error a client with `settings` gets from Metadata for `topic`.
fn metadata_error(
    bootstrap: &str,
    topic: &str,
    settings: &[(&str, &str)],
) -> Option<RDKafkaRespErr> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (k, v) in settings {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().unwrap();
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .expect("topic");
    t.error()
}

fn topic_view(cluster: &TestCluster, topic: &str) -> Option<Value> {
    cluster.get(1, &format!("/v1/topics/{topic}"))
}

#[test]
fn a_default_producer_creates_its_topic_and_consumers_do_not() {
    let cluster = TestCluster::start_with_env(1, &[("CAIRN_NUM_PARTITIONS", "2")]);
    cluster.wait_formed(1, &[1]);
    let bootstrap = cluster.bootstrap();

    // A producer with librdkafka's defaults writes to a topic that does not exist.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let delivered = runtime.block_on(producer.send(
        FutureRecord::<(), _>::to("made-by-producing").payload("hello"),
        Duration::from_secs(30),
    ));
    assert!(delivered.is_ok(), "{delivered:?}");
    producer.flush(Duration::from_secs(5)).unwrap();
    let view = topic_view(&cluster, "made-by-producing").expect("the topic was created");
    assert_eq!(view["partitions"].as_array().unwrap().len(), 2, "{view}");
    // One live broker: the default replication factor (3) is capped to 1.
    assert_eq!(view["replication_factor"], 1, "{view}");

    // A consumer asks with allow_auto_topic_creation=false (librdkafka's
    // consumer default): UNKNOWN_TOPIC_OR_PARTITION, nothing created.
    assert_eq!(
        metadata_error(&bootstrap, "only-consumed", &[("group.id", "g")]),
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(topic_view(&cluster, "only-consumed").is_none());

    // A client that allows it gets LEADER_NOT_AVAILABLE while the topic is made.
    let allow = [("allow.auto.create.topics", "true")];
    let first = metadata_error(&bootstrap, "asked-for", &allow);
    assert!(
        first == Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) || first.is_none(),
        "{first:?}"
    );
    cluster.wait_for("asked-for created", Duration::from_secs(20), || {
        topic_view(&cluster, "asked-for")
    });

    // Invalid names are refused, internal topics never made by Metadata.
    assert_eq!(
        metadata_error(&bootstrap, "bad/name", &allow),
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION)
    );
    assert_eq!(
        metadata_error(&bootstrap, "__transaction_state", &allow),
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    );

    // The broker reports the settings it creates topics with (DescribeConfigs).
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let described = runtime
        .block_on(admin.describe_configs(
            &[ResourceSpecifier::Broker(1)],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        ))
        .unwrap();
    let resource = described[0].as_ref().expect("broker 1's configs");
    let value = |name: &str| {
        resource
            .get(name)
            .and_then(|e| e.value.clone())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(value("auto.create.topics.enable"), "true");
    assert_eq!(value("num.partitions"), "2");
    assert_eq!(value("default.replication.factor"), "1");
    // The listener a client reads from the broker's configs (kafka-python's
    // own tests do) is the one it connected to.
    assert_eq!(
        value("advertised.listeners"),
        format!("PLAINTEXT://{bootstrap}")
    );

    // Every Kafka topic config is accepted and described with its source.
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let configured = NewTopic::new("configured", 1, TopicReplication::Fixed(1))
        .set("min.insync.replicas", "1")
        .set("cleanup.policy", "compact,delete")
        .set("delete.retention.ms", "1000")
        .set("message.timestamp.difference.max.ms", "60000");
    let created = runtime
        .block_on(admin.create_topics([&configured], &options))
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let described = runtime
        .block_on(admin.describe_configs(&[ResourceSpecifier::Topic("configured")], &options))
        .unwrap();
    let topic = described[0].as_ref().expect("the topic's configs");
    let entry = |name: &str| {
        topic
            .get(name)
            .unwrap_or_else(|| panic!("{name} not described"))
    };
    assert_eq!(
        entry("cleanup.policy").value.as_deref(),
        Some("compact,delete")
    );
    assert_eq!(
        entry("delete.retention.ms").source,
        ConfigSource::DynamicTopic
    );
    assert_eq!(
        entry("unclean.leader.election.enable").value.as_deref(),
        Some("false")
    );
    assert!(entry("unclean.leader.election.enable").is_default);
    assert!(entry("segment.jitter.ms").is_default);
    // A value of the wrong kind: INVALID_CONFIG, naming it.
    let bad = NewTopic::new("badly-configured", 1, TopicReplication::Fixed(1))
        .set("preallocate", "sometimes");
    let refused = runtime
        .block_on(admin.create_topics([&bad], &options))
        .unwrap();
    assert!(
        matches!(refused[0], Err((_, RDKafkaErrorCode::InvalidConfig))),
        "{refused:?}"
    );

    // DescribeLogDirs: the data dir, with the replica written above (its one
    // record makes it non-empty) and the file system's sizes.
    let port = cluster.brokers[&1].kafka;
    let mut s = wire::connect(port);
    let dirs: DescribeLogDirsResponse = wire::call(
        &mut s,
        ApiKey::DescribeLogDirs,
        4,
        &DescribeLogDirsRequest::default().with_topics(None),
    );
    assert_eq!(dirs.results.len(), 1, "{dirs:?}");
    let dir = &dirs.results[0];
    assert_eq!(dir.error_code, 0);
    assert!(
        dir.log_dir
            .as_str()
            .starts_with(cluster.dir.path().to_str().unwrap()),
        "{dir:?}"
    );
    assert!(dir.total_bytes > 0 && dir.usable_bytes > 0 && dir.usable_bytes <= dir.total_bytes);
    let written = dir
        .topics
        .iter()
        .find(|t| t.name.0.as_str() == "made-by-producing")
        .expect("the auto-created topic's replicas");
    assert_eq!(written.partitions.len(), 2, "{written:?}");
    assert!(
        written.partitions.iter().any(|p| p.partition_size > 0),
        "{written:?}"
    );

    // The ACL APIs: SECURITY_DISABLED, per creation and per filter, on a
    // connection that stays open.
    let described: DescribeAclsResponse = wire::call(
        &mut s,
        ApiKey::DescribeAcls,
        3,
        &DescribeAclsRequest::default(),
    );
    assert_eq!(described.error_code, SECURITY_DISABLED);
    let created: CreateAclsResponse = wire::call(
        &mut s,
        ApiKey::CreateAcls,
        3,
        &CreateAclsRequest::default().with_creations(vec![Default::default(), Default::default()]),
    );
    assert_eq!(created.results.len(), 2);
    assert!(created
        .results
        .iter()
        .all(|r| r.error_code == SECURITY_DISABLED));
    let deleted: DeleteAclsResponse = wire::call(
        &mut s,
        ApiKey::DeleteAcls,
        1,
        &DeleteAclsRequest::default().with_filters(vec![Default::default()]),
    );
    assert_eq!(deleted.filter_results[0].error_code, SECURITY_DISABLED);
}

#[test]
fn a_broker_with_auto_creation_off_answers_unknown_topic() {
    let cluster = TestCluster::start_with_env(1, &[("CAIRN_AUTO_CREATE_TOPICS_ENABLE", "false")]);
    cluster.wait_formed(1, &[1]);
    let allow = [("allow.auto.create.topics", "true")];
    assert_eq!(
        metadata_error(&cluster.bootstrap(), "never-made", &allow),
        Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(topic_view(&cluster, "never-made").is_none());
}

#[test]
fn clients_place_replicas_by_hand_when_creating_topics_and_partitions() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    let out = support::run_client("python3", "python/assignments.py", &[&cluster.bootstrap()]);
    assert!(out.contains("grew placed to 5 partitions"), "{out}");
    assert!(out.contains("kafka-python created kp-placed"), "{out}");
    // The admin API shows the same placement, preferred leader first.
    let view = topic_view(&cluster, "placed").expect("placed");
    let replicas: Vec<Vec<u64>> = view["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| serde_json::from_value(p["replicas"].clone()).unwrap())
        .collect();
    assert_eq!(
        replicas,
        vec![vec![3, 1], vec![1, 2], vec![2, 3], vec![2, 1], vec![3, 2]]
    );
}
