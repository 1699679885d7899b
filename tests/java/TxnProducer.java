// The Apache Kafka Java client's transactions against Cairn: a producer with
// a transactional.id commits one transaction and aborts another; a consumer
// with isolation.level=read_committed reads only the committed records, one
// with the default read_uncommitted reads both; the Admin client lists the
// transactional id and describes it (ListTransactions, DescribeTransactions).
// Usage: java -cp <jars> TxnProducer.java BOOTSTRAP TOPIC COUNT
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

public class TxnProducer {
    static final String TXN_ID = "java-txn";

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        int count = Integer.parseInt(args[2]);
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("transactional.id", TXN_ID);
        p.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            producer.beginTransaction();
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "committed-" + i));
            }
            producer.commitTransaction();
            producer.beginTransaction();
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, "k" + i, "aborted-" + i));
            }
            producer.flush();
            producer.abortTransaction();
            // One more committed record after the aborted ones, so that the
            // committed reader must read past the abort.
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "last", "committed-last"));
            producer.commitTransaction();
        }
        List<String> committed = read(bootstrap, topic, "read_committed", count + 1);
        List<String> all = read(bootstrap, topic, "read_uncommitted", 2 * count + 1);
        long aborted = committed.stream().filter(v -> v.startsWith("aborted-")).count();
        if (aborted != 0 || committed.size() != count + 1) {
            throw new AssertionError("read_committed read " + committed.size()
                + " records, " + aborted + " of them aborted");
        }
        System.out.println("java read_committed read " + committed.size()
            + ", read_uncommitted read " + all.size());
        Properties a = new Properties();
        a.put("bootstrap.servers", bootstrap);
        try (Admin admin = Admin.create(a)) {
            Collection<TransactionListing> listed = admin.listTransactions().all().get();
            boolean found = listed.stream().anyMatch(l -> l.transactionalId().equals(TXN_ID));
            Map<String, TransactionDescription> described =
                admin.describeTransactions(List.of(TXN_ID)).all().get();
            TransactionDescription d = described.get(TXN_ID);
            System.out.println("java admin: listed " + found + ", state " + d.state()
                + ", producer " + d.producerId() + " epoch " + d.producerEpoch());
        }
    }

    /// Every value of the topic from the beginning with `isolation`, until
    /// `expected` arrived or 30 s passed.
    static List<String> read(String bootstrap, String topic, String isolation, int expected) {
        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        c.put("isolation.level", isolation);
        c.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        c.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                .map(i -> new TopicPartition(topic, i.partition()))
                .collect(Collectors.toList());
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long deadline = System.currentTimeMillis() + 30_000;
            while (values.size() < expected && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    values.add(r.value());
                }
            }
        }
        return values;
    }
}
