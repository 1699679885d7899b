// The Apache Kafka Java client (kafka-clients 3.9.1) in a consumer group
// against Cairn, with its default settings except auto.offset.reset (the
// topic is written before the consumer starts):
//   1. a consumer subscribes, reads every record of the topic once, commits;
//   2. a new member of the same group starts where the commits are;
//   3. the Admin client lists the group, describes it and reads its offsets.
// Usage: java -cp <jars> GroupConsumer.java BOOTSTRAP TOPIC GROUP EXPECTED
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

public class GroupConsumer {
    static KafkaConsumer<String, String> consumer(String bootstrap, String group) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("group.id", group);
        p.put("auto.offset.reset", "earliest");
        p.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        return new KafkaConsumer<>(p);
    }

    static void fail(String why) {
        System.out.println("FAILED: " + why);
        System.exit(1);
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], group = args[2];
        int expected = Integer.parseInt(args[3]);

        Set<String> seen = new HashSet<>();
        int duplicates = 0;
        try (KafkaConsumer<String, String> c = consumer(bootstrap, group)) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 90_000;
            while (seen.size() < expected && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    if (!seen.add(r.value())) {
                        duplicates++;
                    }
                }
            }
            if (seen.size() != expected || duplicates != 0) {
                fail("read " + seen.size() + " of " + expected + " with " + duplicates + " duplicates");
            }
            c.commitSync();
            System.out.println("java read " + seen.size() + " from " + c.assignment().size() + " partitions");
        }

        // A new member resumes at the committed offsets: its position on every
        // partition is the end of the partition.
        try (KafkaConsumer<String, String> c = consumer(bootstrap, group)) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 60_000;
            int reread = 0;
            while (c.assignment().isEmpty() && System.currentTimeMillis() < deadline) {
                reread += c.poll(Duration.ofMillis(200)).count();
            }
            Set<TopicPartition> assigned = c.assignment();
            if (assigned.isEmpty()) {
                fail("the second member got no partitions");
            }
            Map<TopicPartition, Long> ends = c.endOffsets(assigned);
            for (TopicPartition tp : assigned) {
                long position = c.position(tp);
                if (position != ends.get(tp)) {
                    fail(tp + " resumed at " + position + ", not at the committed end " + ends.get(tp));
                }
            }
            reread += c.poll(Duration.ofMillis(1000)).count();
            if (reread != 0) {
                fail("the second member read " + reread + " records again");
            }
            System.out.println("java resumed at the commits on " + assigned.size() + " partitions");
        }

        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            boolean listed = false;
            for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) {
                listed |= g.groupId().equals(group);
            }
            if (!listed) {
                fail("listConsumerGroups does not list " + group);
            }
            ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
            long committed = 0;
            for (OffsetAndMetadata o : admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get().values()) {
                committed += o.offset();
            }
            if (committed != expected) {
                fail("committed offsets sum to " + committed + ", not " + expected);
            }
            System.out.println("java admin: group " + group + " " + d.state() + ", committed " + committed);
        }
    }
}
