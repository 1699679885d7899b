// kafkajs with `idempotent: true` (it asks InitProducerId and sends with
// sequences; kafkajs requires one request in flight for it) writes N
// messages to a topic of a running Cairn cluster, then a kafkajs consumer
// reads the topic from the beginning: every message must be there once.
// Called by tests/idempotence.rs. Prints "kafkajs idempotent: N sent, each
// read once" and exits 0, or exits 1 saying what was wrong.
//
// Usage: node idempotent.js BOOTSTRAP TOPIC N
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const [bootstrap, topic, count] = process.argv.slice(2);
  const n = Number(count);
  const kafka = new Kafka({
    clientId: "cairn-test",
    brokers: bootstrap.split(","),
    logLevel: logLevel.WARN,
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < n; i += 50) {
    const messages = [];
    for (let j = i; j < Math.min(n, i + 50); j++) {
      messages.push({ key: String(j % 13), value: `k${j}` });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `idempotent-check-${Date.now()}` });
  const seen = [];
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const timer = setTimeout(() => finish(false), 60_000);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value.toString());
      if (seen.length >= n) setTimeout(() => finish(true), 2_000); // late duplicates would arrive meanwhile
    },
  });
  await done;
  clearTimeout(timer);
  await consumer.disconnect();
  const distinct = new Set(seen);
  if (seen.length !== n || distinct.size !== n) {
    console.log(`kafkajs idempotent: read ${seen.length} (${distinct.size} distinct) of ${n}`);
    process.exit(1);
  }
  console.log(`kafkajs idempotent: ${n} sent, each read once`);
  process.exit(0);
}

main().catch((e) => {
  console.error(`kafkajs failed: ${e.stack || e}`);
  process.exit(1);
});
