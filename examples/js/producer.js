#!/usr/bin/env node
// Producer for a twinmq pair: persistent messages, each confirmed by a RECEIPT, across a failover.
//
//   node producer.js [--hosts 127.0.0.1:61613,127.0.0.1:61614] [--destination /queue/demo]
//                    [--count 100] [--delay 0] [--quiet]
//
// A RECEIPT from the pair means the message is on disk on the master AND on the slave.
// If the connection drops before the receipt arrives, stompit's ConnectFailover connects
// to the next server (the slave accepts connections once it has taken over) and this
// program sends that message again; a message that got its receipt is never lost. Each
// SEND carries a duplicate-detection id, `_AMQ_DUPL_ID` (ActiveMQ Artemis's header;
// README "Duplicate detection"), the same on the re-sent copy, so a message that reached
// the old master just before it died is not stored twice. Exit status 0 once every
// message has its receipt, 1 if no broker accepts connections.
'use strict';

const crypto = require('crypto');
const { parseArgs, connectFailover, serverName } = require('./servers');

const args = parseArgs(process.argv.slice(2), {
  hosts: '127.0.0.1:61613,127.0.0.1:61614',
  destination: '/queue/demo',
  count: '100',
  delay: '0', // seconds between messages, to watch a failover
  quiet: false,
});
const count = Number(args.count);
const run = crypto.randomBytes(16).toString('hex'); // this run's duplicate-detection id prefix

let next = 0; // the first message without a receipt
let resent = 0;
let current = null; // the connected client; a callback of an older one does nothing

connectFailover(args.hosts).connect((error, client, reconnect, server) => {
  if (error) {
    console.error(`producer: no broker of ${args.hosts} accepts connections: ${error.message}`);
    process.exit(1);
  }
  const where = serverName(server);
  current = client;
  console.log(`producer: connected to ${where}`);

  client.on('error', (err) => {
    if (client !== current) return;
    current = null;
    console.log(`producer: lost ${where} (${err.message}) before the receipt for "message ${next}": ` +
                'failing over, then sending it again');
    resent++;
    reconnect();
  });
  sendNext(client, where);
});

function sendNext(client, where) {
  if (client !== current) return;
  if (next === count) {
    current = null;
    client.disconnect();
    console.log(`producer: ${count} messages sent, every one confirmed by a receipt ` +
                `(${resent} sent again after a failover); last broker ${where}`);
    return;
  }
  const body = `message ${next}`;
  // The same _AMQ_DUPL_ID on every try of a message: the pair stores it once.
  const headers = { destination: args.destination, persistent: 'true', _AMQ_DUPL_ID: `${run}:${next}` };
  const frame = client.send(headers, {
    onReceipt: () => {
      if (client !== current) return;
      if (!args.quiet) console.log(`producer: sent ${body} (receipt from ${where})`);
      next++;
      setTimeout(() => sendNext(client, where), Number(args.delay) * 1000);
    },
  });
  frame.end(body);
}
