// Sends a fixed set of events to a local `vitals serve` with @segment/analytics-node.
// Usage: node send_node.js HOST WRITE_KEY DAY ACCOUNT  (fixed message ids: re-runs resend)
const { Analytics } = require('@segment/analytics-node');

const [host, writeKey, day, account] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host, flushAt: 7, maxRetries: 2 });
const errors = [];
analytics.on('error', (e) => errors.push(e));
const timestamp = new Date(`${day}T12:00:00Z`);

analytics.group({ userId: 'node-user-1', groupId: account, traits: { name: 'Node Co', seats: 30 },
  timestamp, messageId: `${account}-group` });
for (let i = 0; i < 30; i++) {
  analytics.track({ userId: `node-user-${i % 4}`, event: 'Export Created', properties: { i },
    context: { groupId: account }, timestamp, messageId: `${account}-track-${i}` });
}
analytics.page({ userId: 'node-user-2', name: 'Reports', context: { groupId: account }, timestamp,
  messageId: `${account}-page` });

analytics.closeAndFlush({ timeout: 20000 }).then(() => {
  if (errors.length) {
    console.error('node client errors:', errors);
    process.exit(1);
  }
  console.log('node client: sent 32 messages');
});
