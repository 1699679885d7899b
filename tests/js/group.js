// kafkajs (its defaults) consumes a topic in a consumer group against a
// running Cairn cluster; called by tests/groups.rs, which produced the
// messages. Prints "kafkajs read N" and exits 0 once every message arrived.
//
// Usage: node group.js BOOTSTRAP TOPIC GROUP EXPECTED
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const [bootstrap, topic, groupId, expected] = process.argv.slice(2);
  const want = Number(expected);
  const kafka = new Kafka({
    clientId: "cairn-test",
    brokers: bootstrap.split(","),
    logLevel: logLevel.WARN,
  });
  const consumer = kafka.consumer({ groupId });
  const seen = new Set();
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const timer = setTimeout(() => finish(false), 90_000);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.add(message.value.toString());
      if (seen.size >= want) finish(true);
    },
  });
  const complete = await done;
  clearTimeout(timer);
  await consumer.disconnect();
  console.log(`kafkajs read ${seen.size}`);
  process.exit(complete ? 0 : 1);
}

main().catch((e) => {
  console.error(`kafkajs failed: ${e.stack || e}`);
  process.exit(1);
});
