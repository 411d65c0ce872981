// A Node service publishing onto the local hub with the AWS SDK for JavaScript v3, as a service
// on the Node library would: `local-hub serve` running, then
//   AWS_ENDPOINT_URL=http://127.0.0.1:4010 node crates/local-hub/node/put-events.js
// (@aws-sdk/client-eventbridge from NODE_PATH, e.g. node/node_modules
// after scripts/bench's `npm ci`). Prints the PutEvents response; exits 1 if an entry failed.
const { EventBridgeClient, PutEventsCommand } = require('@aws-sdk/client-eventbridge');

const client = new EventBridgeClient({
  region: process.env.AWS_REGION || 'eu-west-1',
  endpoint: process.env.AWS_ENDPOINT_URL || 'http://127.0.0.1:4010',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

const id = `o-node-${Date.now()}`;
const envelope = {
  id: `evt-${id}`,
  type: 'order-placed',
  timestamp: Date.now(),
  partitionKey: id,
  tags: { source: 'a-node-service' },
  order: {
    id, customerId: 'c1', restaurantId: 'r1',
    items: [{ menuItemId: 'm1', quantity: 1 }], total: 900, currency: 'EUR',
  },
};

client
  .send(new PutEventsCommand({
    Entries: [{
      EventBusName: process.env.BUS_NAME || 'customer-event-hub-bus',
      Source: 'custom',
      DetailType: envelope.type,
      Detail: JSON.stringify(envelope),
    }],
  }))
  .then((response) => {
    console.log(JSON.stringify({ FailedEntryCount: response.FailedEntryCount, Entries: response.Entries }));
    process.exit(response.FailedEntryCount === 0 ? 0 : 1);
  })
  .catch((error) => {
    console.error(error);
    process.exit(2);
  });
