// Writes the Lambda events the Node library's own test builders make (toKinesisRecords,
// toSqsEventRecords) into the core crate's fixtures, so our sources are tested against what
// Node services and their tooling really send. Run: node make-fixtures.js
const fs = require('fs');
const path = require('path');
const { toKinesisRecords, toSqsEventRecords } = require('aws-lambda-stream');

const events = [
  { id: 'n1', type: 'thing-created', timestamp: 1600000000000, partitionKey: 't1', tags: { source: 'node-svc' }, thing: { id: 't1', name: 'Thing One' } },
  { id: 'n2', type: 'order-placed', timestamp: 1600000000001, partitionKey: 'o1', tags: { source: 'node-svc' }, order: { id: 'o1', total: 12.5 } },
];
const fixtures = path.join(__dirname, '..', 'crates', 'lambda-stream', 'tests', 'fixtures');
const write = (name, value) => fs.writeFileSync(path.join(fixtures, name), `${JSON.stringify(value, null, 2)}\n`);
write('node-to-kinesis-records.json', toKinesisRecords(events));
write('node-to-sqs-event-records.json', toSqsEventRecords(events));
