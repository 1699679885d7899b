// The Apache Kafka Java client's Admin API (kafka-clients 3.9.1) against a
// 3-broker Cairn, each call as a tool or application makes it, and the
// default producer writing to a topic nobody created (auto-creation):
//   topics: create (with configs and with a manual assignment), list,
//     describe, grow, delete; configs: describe (topic and broker),
//     incrementalAlter; records: listOffsets, deleteRecords; cluster:
//     describeCluster, describeLogDirs, electLeaders; ACLs: describeAcls fails with
//     SecurityDisabledException (no authorizer), as against Kafka without one.
// Prints one line per check; the first failure exits 1 with FAILED: ...
// Usage: java -cp <jars> AdminProbe.java BOOTSTRAP
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.TopicPartitionReplica;
import org.apache.kafka.common.errors.ElectionNotNeededException;
import org.apache.kafka.common.errors.PreferredLeaderNotAvailableException;
import org.apache.kafka.common.errors.LogDirNotFoundException;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.SecurityDisabledException;

public class AdminProbe {
    static void fail(String why) {
        System.out.println("FAILED: " + why);
        System.exit(1);
    }

    static void check(boolean ok, String why) {
        if (!ok) fail(why);
    }

    static void say(String line) {
        System.out.println(line);
    }

    static TopicDescription describe(Admin admin, String topic, int partitions) throws Exception {
        long deadline = System.currentTimeMillis() + 30_000;
        while (true) {
            try {
                TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
                if (d.partitions().size() == partitions
                        && d.partitions().stream().allMatch(p -> p.leader() != null && p.leader().id() >= 0)) {
                    return d;
                }
            } catch (ExecutionException e) {
                // Not there yet: asked again below.
            }
            if (System.currentTimeMillis() > deadline) fail(topic + " never had " + partitions + " led partitions");
            Thread.sleep(300);
        }
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(p)) {
            int brokers = admin.describeCluster().nodes().get().size();
            check(brokers == 3, "describeCluster: " + brokers + " brokers");
            say("java admin: cluster of " + brokers + " brokers");
            // DescribeQuorum: the metadata group, answered by its leader.
            QuorumInfo quorum = admin.describeMetadataQuorum().quorumInfo().get();
            check(quorum.leaderId() >= 1 && quorum.leaderId() <= 3 && quorum.leaderEpoch() >= 1
                    && quorum.highWatermark() > 0 && quorum.voters().size() == 3
                    && quorum.voters().stream().anyMatch(v -> v.replicaId() == quorum.leaderId()
                        && v.logEndOffset() >= quorum.highWatermark()),
                "describeMetadataQuorum: " + quorum);
            say("java admin: metadata quorum led by broker " + quorum.leaderId());

            admin.createTopics(List.of(
                new NewTopic("java-admin", 3, (short) 3).configs(Map.of("retention.ms", "86400000", "min.insync.replicas", "2")),
                new NewTopic("java-placed", Map.of(0, List.of(2, 3), 1, List.of(3, 1)))
            )).all().get();
            TopicDescription placed = describe(admin, "java-placed", 2);
            check(placed.partitions().get(0).replicas().get(0).id() == 2
                    && placed.partitions().get(1).replicas().get(0).id() == 3,
                "java-placed replicas: " + placed);
            describe(admin, "java-admin", 3);
            check(admin.listTopics().names().get().containsAll(Set.of("java-admin", "java-placed")), "listTopics");
            say("java admin: created java-admin and java-placed (manual assignment kept)");

            ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, "java-admin");
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, "1");
            Map<ConfigResource, Config> configs = admin.describeConfigs(List.of(topic, broker),
                new DescribeConfigsOptions().includeSynonyms(true).includeDocumentation(true)).all().get();
            ConfigEntry retention = configs.get(topic).get("retention.ms");
            check(retention != null && retention.value().equals("86400000")
                    && retention.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG
                    && retention.type() == ConfigEntry.ConfigType.LONG
                    && retention.documentation() != null && !retention.documentation().isEmpty(),
                "retention.ms: " + retention);
            // The override first, then what it overrides: the broker's log.retention.ms default.
            check(retention.synonyms().size() >= 2
                    && retention.synonyms().get(0).source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG
                    && retention.synonyms().get(1).name().equals("log.retention.ms"),
                "retention.ms synonyms: " + retention.synonyms());
            check(configs.get(topic).get("unclean.leader.election.enable") != null, "unclean.leader.election.enable missing");
            ConfigEntry listeners = configs.get(broker).get("advertised.listeners");
            check(listeners != null && listeners.value().startsWith("PLAINTEXT://"), "advertised.listeners: " + listeners);
            admin.incrementalAlterConfigs(Map.of(topic, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET)
            ))).all().get();
            long deadline = System.currentTimeMillis() + 20_000;
            while (!admin.describeConfigs(List.of(topic)).all().get().get(topic).get("retention.ms").value().equals("3600000")) {
                if (System.currentTimeMillis() > deadline) fail("retention.ms never became 3600000");
                Thread.sleep(200);
            }
            say("java admin: described topic and broker configs, altered retention.ms");

            admin.createPartitions(Map.of("java-admin", NewPartitions.increaseTo(4))).all().get();
            describe(admin, "java-admin", 4);
            say("java admin: grew java-admin to 4 partitions");

            // The default producer (idempotent, acks=all) to a topic that does not exist.
            Properties pp = new Properties();
            pp.put("bootstrap.servers", bootstrap);
            pp.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
            pp.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
                RecordMetadata last = null;
                for (int i = 0; i < 10; i++) {
                    last = producer.send(new ProducerRecord<>("java-auto", 0, "k", "v" + i)).get();
                }
                check(last.offset() == 9, "last offset " + last.offset());
            }
            describe(admin, "java-auto", 1);
            say("java producer: 10 records to java-auto, which it created");

            TopicPartition auto0 = new TopicPartition("java-auto", 0);
            long end = admin.listOffsets(Map.of(auto0, OffsetSpec.latest())).all().get().get(auto0).offset();
            check(end == 10, "latest offset " + end);
            long low = admin.deleteRecords(Map.of(auto0, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(auto0).get().lowWatermark();
            check(low == 4, "low watermark " + low);
            long earliest = admin.listOffsets(Map.of(auto0, OffsetSpec.earliest())).all().get().get(auto0).offset();
            check(earliest == 4, "earliest offset " + earliest);
            say("java admin: listOffsets and deleteRecords (log start 4)");

            Map<Integer, Map<String, LogDirDescription>> dirs = admin.describeLogDirs(List.of(1, 2, 3)).allDescriptions().get();
            check(dirs.size() == 3, "describeLogDirs answered for " + dirs.keySet());
            boolean found = dirs.values().stream()
                .flatMap(d -> d.values().stream())
                .anyMatch(d -> d.replicaInfos().containsKey(auto0) && d.totalBytes().isPresent());
            check(found, "no broker reports java-auto-0: " + dirs);
            say("java admin: describeLogDirs of 3 brokers");

            // One log dir per broker: naming it is already satisfied, any other is not found.
            String dir1 = dirs.get(1).keySet().iterator().next();
            admin.alterReplicaLogDirs(Map.of(new TopicPartitionReplica("java-auto", 0, 1), dir1)).all().get();
            try {
                admin.alterReplicaLogDirs(Map.of(new TopicPartitionReplica("java-auto", 0, 1), dir1 + "-elsewhere")).all().get();
                fail("alterReplicaLogDirs to a directory the broker lacks succeeded");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof LogDirNotFoundException, "alterReplicaLogDirs: " + e.getCause());
            }
            say("java admin: alterReplicaLogDirs to the data dir; another dir -> LogDirNotFoundException");

            // Preferred leader election: the partition moves to its
            // preferred replica, or needed nothing; every partition (null)
            // answers for those that moved only.
            Map<TopicPartition, java.util.Optional<Throwable>> elected =
                admin.electLeaders(ElectionType.PREFERRED, Set.of(auto0)).partitions().get();
            check(elected.containsKey(auto0), "electLeaders answered " + elected);
            elected.get(auto0).ifPresent(t -> check(t instanceof ElectionNotNeededException, "electLeaders: " + t));
            Map<TopicPartition, java.util.Optional<Throwable>> all =
                admin.electLeaders(ElectionType.PREFERRED, null).partitions().get();
            for (var e : all.entrySet()) {
                // A replica of a partition created a moment ago may still be catching up.
                check(e.getValue().isEmpty() || e.getValue().get() instanceof PreferredLeaderNotAvailableException,
                    "electLeaders(all) " + e.getKey() + ": " + e.getValue());
            }
            List<TopicPartitionInfo> parts = admin.describeTopics(List.of("java-auto")).allTopicNames().get()
                .get("java-auto").partitions();
            check(parts.get(0).leader() != null && parts.get(0).leader().id() == parts.get(0).replicas().get(0).id(),
                "java-auto-0 not led by its preferred replica: " + parts.get(0));
            say("java admin: electLeaders PREFERRED (one partition, then all)");

            try {
                admin.describeAcls(AclBindingFilter.ANY).values().get();
                fail("describeAcls succeeded without an authorizer");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof SecurityDisabledException, "describeAcls: " + e.getCause());
            }
            say("java admin: describeAcls -> SecurityDisabledException");

            admin.deleteTopics(List.of("java-admin", "java-placed", "java-auto")).all().get();
            deadline = System.currentTimeMillis() + 20_000;
            while (admin.listTopics().names().get().contains("java-admin")) {
                if (System.currentTimeMillis() > deadline) fail("java-admin still listed after delete");
                Thread.sleep(200);
            }
            say("java admin: deleted the topics");
        }
    }
}
