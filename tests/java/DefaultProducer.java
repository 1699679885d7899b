// The Apache Kafka Java client's producer with its default settings (since
// Kafka 3.0: enable.idempotence=true, acks=all) against Cairn: it asks for a
// producer id (InitProducerId), sends keyed records to a topic and waits for
// every acknowledgement; then reports how many were acknowledged.
// Usage: java -cp <jars> DefaultProducer.java BOOTSTRAP TOPIC COUNT
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

public class DefaultProducer {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        int count = Integer.parseInt(args[2]);
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                sent.add(producer.send(new ProducerRecord<>(topic, "k" + (i % 13), "j" + i)));
            }
            for (Future<RecordMetadata> f : sent) {
                f.get();
            }
            System.out.println("java default producer (enable.idempotence="
                + ProducerConfig.configDef().defaultValues().get("enable.idempotence")
                + ") sent " + sent.size());
        }
    }
}
