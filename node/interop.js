// The Node side of the interop tests (tests/node-interop): makes events with the Node
// library's own functions and reads ours back with them. One command per run, JSON in on
// stdin, JSON out on stdout:
//
//   node interop.js COMMAND < input.json > output.json
//
// | command       | input                                   | output |
// |---------------|-----------------------------------------|--------|
// | publish       | {events}                                | the PutEvents entries publishToEventBridge sends, with Node's default options (compressionThreshold 10 KB), to a mocked client |
// | kinesis       | {events}                                | toKinesisRecords(events): a Lambda Kinesis event |
// | sqs           | {events}                                | toSqsEventRecords(events): a Lambda SQS event |
// | dynamodb      | {changes: [{timestamp, keys, newImage, oldImage}]} | {event: toDynamodbRecords(changes), emitted: what fromDynamodb makes of it} |
// | encrypt       | {events, fields, masterKeyAlias, regions} | encryptEvent's events (KMS: AWS_ENDPOINT_URL, moto in the tests) |
// | from-kinesis  | a Lambda Kinesis event                  | {events, faults}: fromKinesis's events (claim checks redeemed from S3) |
// | from-sqs      | a Lambda SQS event                      | {events, faults}: fromSqsEvent's |
// | decrypt       | {events}                                | {events, faults}: decryptEvent's (every event with an eem) |
const { mockClient } = require('aws-sdk-client-mock');
const { EventBridgeClient, PutEventsCommand } = require('@aws-sdk/client-eventbridge');
const _ = require('highland');
const {
  defaultOptions,
  publishToEventBridge,
  toKinesisRecords,
  toSqsEventRecords,
  toDynamodbRecords,
  fromDynamodb,
  fromKinesis,
  fromSqsEvent,
  encryptEvent,
  decryptEvent,
} = require('aws-lambda-stream');

const read = () => new Promise((resolve, reject) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text ? JSON.parse(text) : {}));
  process.stdin.on('error', reject);
});

// Runs a stream of units to the end: the events, and the faults the library's `faulty`
// wrappers raise (an error in a unit).
const run = (stream) => new Promise((resolve) => {
  const events = [];
  const faults = [];
  stream
    .errors((err, push) => {
      faults.push({ name: err.name, message: err.message, id: err.uow && err.uow.event && err.uow.event.id });
    })
    .each((uow) => events.push(uow.event))
    .done(() => resolve({ events, faults }));
});

const commands = {
  // What a Node service's publish puts on the bus, with the options its flavors use.
  async publish({ events }) {
    const entries = [];
    mockClient(EventBridgeClient)
      .on(PutEventsCommand)
      .callsFake((request) => {
        entries.push(...request.Entries);
        return { FailedEntryCount: 0, Entries: request.Entries.map((_e, i) => ({ EventId: `${i}` })) };
      });
    await run(_(events.map((event) => ({ event })))
      .through(publishToEventBridge({ ...defaultOptions, busName: 'interop-bus' })));
    return entries;
  },
  async kinesis({ events }) {
    return toKinesisRecords(events);
  },
  async sqs({ events }) {
    return toSqsEventRecords(events);
  },
  async dynamodb({ changes }) {
    const event = toDynamodbRecords(changes);
    const { events, faults } = await run(fromDynamodb(event));
    return { event, emitted: events, faults };
  },
  async encrypt({ events, fields, masterKeyAlias, regions }) {
    const { events: out, faults } = await run(_(events.map((event) => ({ event })))
      .through(encryptEvent({ eem: { fields }, masterKeyAlias, regions })));
    if (faults.length) throw new Error(`encryptEvent failed: ${JSON.stringify(faults)}`);
    return out;
  },
  async 'from-kinesis'(event) {
    return run(fromKinesis(event));
  },
  async 'from-sqs'(event) {
    return run(fromSqsEvent(event));
  },
  async decrypt({ events }) {
    return run(_(events.map((event) => ({ event })))
      .through(decryptEvent({ prefilter: () => true })));
  },
};

const main = async () => {
  const command = commands[process.argv[2]];
  if (!command) {
    process.stderr.write(`usage: node interop.js ${Object.keys(commands).join('|')} < input.json\n`);
    process.exit(2);
  }
  const output = await command(await read());
  process.stdout.write(JSON.stringify(output));
};

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
