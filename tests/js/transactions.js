// kafkajs transactions against a running Cairn cluster: a transactional
// producer (its `transactionalId`, with the idempotence and single request
// in flight kafkajs requires for it) commits N messages, aborts N, commits N
// more; a consumer with `readUncommitted: false` (kafkajs' default, i.e.
// read_committed) reads the topic from the beginning: exactly the 2N
// committed messages, none of the aborted. Called by tests/transactions.rs.
// Prints "kafkajs transactions: 2N committed read, no aborted" and exits 0,
// or exits 1 saying what was wrong.
//
// Usage: node transactions.js BOOTSTRAP TOPIC N
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const [bootstrap, topic, count] = process.argv.slice(2);
  const n = Number(count);
  const kafka = new Kafka({
    clientId: "cairn-test",
    brokers: bootstrap.split(","),
    logLevel: logLevel.WARN,
  });
  const producer = kafka.producer({
    transactionalId: "kafkajs-txn",
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  for (const [prefix, commit] of [["js-c", true], ["js-a", false], ["js-c2", true]]) {
    const txn = await producer.transaction();
    const messages = [];
    for (let i = 0; i < n; i++) messages.push({ value: `${prefix}-${i}` });
    await txn.send({ topic, messages });
    if (commit) await txn.commit();
    else await txn.abort();
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `txn-check-${Date.now()}` });
  const seen = [];
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const timer = setTimeout(() => finish(false), 60_000);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value.toString());
      if (seen.length >= 2 * n) setTimeout(() => finish(true), 2_000); // late extras would arrive meanwhile
    },
  });
  await done;
  clearTimeout(timer);
  await consumer.disconnect();
  const aborted = seen.filter((v) => v.startsWith("js-a-"));
  const committed = seen.filter((v) => !v.startsWith("js-a-"));
  if (aborted.length !== 0 || committed.length !== 2 * n || new Set(committed).size !== 2 * n) {
    console.log(
      `kafkajs transactions: read ${seen.length}: ${committed.length} committed, ${aborted.length} aborted`,
    );
    process.exit(1);
  }
  console.log(`kafkajs transactions: ${2 * n} committed read, no aborted`);
  process.exit(0);
}

main().catch((e) => {
  console.error(`kafkajs failed: ${e.stack || e}`);
  process.exit(1);
});
