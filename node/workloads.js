// The benchmark workloads with the Node library (aws-lambda-stream 1.0), for the side-by-side
// comparison driven by `lambda-stream-bench compare --node DIR`. One fresh process runs one
// workload over a Lambda event read from a file: the first pass is the cold one, the others
// warm; it prints one JSON line in the shape the Rust contenders print.
//
//   node workloads.js --workload egress|listener --input FILE [--records N] [--passes N]
//
// Like the Rust side: the event is the Lambda JSON bytes, parsed as the Node runtime parses
// it; the pipeline filters on the event type, maps each wanted event to the same external
// event, and publishes it with the library's publishToEventBridge to a mocked EventBridge
// client that only counts (as the Rust benchmark's publisher does).
const fs = require('fs');
const { performance } = require('perf_hooks');
const { mockClient } = require('aws-sdk-client-mock');
const { EventBridgeClient, PutEventsCommand } = require('@aws-sdk/client-eventbridge');
const { initialize, fromKinesis, publishToEventBridge, toPromise } = require('aws-lambda-stream');

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
};
const workload = arg('--workload');
const input = arg('--input');
const records = Number(arg('--records', '0'));
const passes = Math.max(1, Number(arg('--passes', '1')));
const WANTED = { egress: /^thing-/, listener: /^order-placed$/ };
const SHARED = { egress: 'thing-shared', listener: 'order-shared' };
if (!WANTED[workload] || !input) {
  process.stderr.write('usage: node workloads.js --workload egress|listener --input FILE\n');
  process.exit(2);
}

let published = 0;
mockClient(EventBridgeClient)
  .on(PutEventsCommand)
  .callsFake((request) => {
    published += request.Entries.length;
    return { FailedEntryCount: 0, Entries: request.Entries.map((_, i) => ({ EventId: `${i}` })) };
  });

const onEventType = (uow) => WANTED[workload].test(uow.event.type);
const toExternal = (uow) => {
  const name = uow.event.type.split('-')[0];
  const entity = uow.event[name];
  return {
    ...uow,
    event: {
      id: uow.event.id,
      type: SHARED[workload],
      timestamp: uow.event.timestamp,
      partitionKey: uow.event.partitionKey,
      [name]: { id: entity.id, name: entity.name, status: entity.status },
    },
  };
};
const share = (opt) => (s) => s
  .filter(onEventType)
  .map(toExternal)
  .through(publishToEventBridge({ ...opt, parallel: 4 }));

// What a Lambda function of the library does per invocation.
const handle = (body) => initialize({ share }, { publish: publishToEventBridge })
  .assemble(fromKinesis(JSON.parse(body)))
  .through(toPromise);

const main = async () => {
  const bytes = fs.readFileSync(input);
  const times = [];
  let firstPublished = 0;
  let rssFirst = 0;
  for (let pass = 0; pass < passes; pass += 1) {
    const before = published;
    const start = performance.now();
    await handle(bytes.toString('utf8'));
    times.push(performance.now() - start);
    if (pass === 0) {
      firstPublished = published - before;
      rssFirst = process.resourceUsage().maxRSS;
    }
  }
  process.stdout.write(`${JSON.stringify({
    implementation: 'node',
    workload,
    records,
    published: firstPublished,
    cold_ms: times[0],
    warm_ms: times.slice(1),
    rss_kib_first: rssFirst,
    rss_kib_peak: process.resourceUsage().maxRSS,
  })}\n`);
};

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
