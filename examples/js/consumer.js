#!/usr/bin/env node
// Consumer for a twinmq pair: acknowledges each message itself and carries on across a failover.
//
//   node consumer.js [--hosts 127.0.0.1:61613,127.0.0.1:61614] [--destination /queue/demo]
//                    [--count 0] [--timeout 0] [--quiet]
//
// Subscribes with ack:client-individual and ACKs each message after printing it. When the
// master dies the connection drops; stompit's ConnectFailover connects to the next server
// (the slave, once it has taken over) and the consumer subscribes again there. The slave
// redelivers what was not acknowledged (redelivered:true), so a message can arrive twice
// (at-least-once): distinct bodies are counted and repeats are pointed out.
// --count N stops after N distinct messages (0: run until Ctrl-C); --timeout S gives up
// with exit status 1 after S seconds (0: never).
'use strict';

const { parseArgs, connectFailover, serverName } = require('./servers');

const args = parseArgs(process.argv.slice(2), {
  hosts: '127.0.0.1:61613,127.0.0.1:61614',
  destination: '/queue/demo',
  count: '0',
  timeout: '0',
  quiet: false,
});
const count = Number(args.count);

const seen = new Set();
const perBroker = new Map();
let again = 0;
let current = null;

function summary() {
  const brokers = [...perBroker].map(([b, n]) => `${b} ${n}`).join(', ') || 'none';
  console.log(`consumer: ${seen.size} distinct messages received (${again} more than once); ` +
              `from each broker: ${brokers}`);
}

const timer = Number(args.timeout) > 0 ? setTimeout(() => {
  console.error(`consumer: timed out with ${seen.size} of ${count} messages`);
  process.exit(1);
}, Number(args.timeout) * 1000) : null;

process.on('SIGINT', () => { summary(); process.exit(0); });

connectFailover(args.hosts).connect((error, client, reconnect, server) => {
  if (error) {
    console.error(`consumer: no broker of ${args.hosts} accepts connections: ${error.message}`);
    process.exit(1);
  }
  const where = serverName(server);
  current = client;
  console.log(`consumer: connected to ${where}, subscribing to ${args.destination}`);

  client.on('error', (err) => {
    if (client !== current) return;
    current = null;
    console.log(`consumer: lost ${where} (${err.message}): failing over`);
    reconnect();
  });

  // Subscriptions belong to a connection: this runs again after every failover.
  client.subscribe({ destination: args.destination, ack: 'client-individual' }, (err, message) => {
    if (err) return; // the connection failed: the 'error' handler above fails over
    message.readString('utf-8', (readErr, body) => {
      if (readErr || client !== current) return;
      const first = !seen.has(body);
      seen.add(body);
      if (!first) again++;
      perBroker.set(where, (perBroker.get(where) || 0) + 1);
      if (!args.quiet || !first) {
        console.log(`consumer: received ${body} from ${where}` +
                    (first ? '' : '  (again: it was not acknowledged before the failover)'));
      }
      client.ack(message);
      if (count > 0 && seen.size >= count) {
        current = null;
        if (timer) clearTimeout(timer);
        client.disconnect();
        summary();
      }
    });
  });
});
