'use strict';
// What producer.js and consumer.js share: their command line and the failover setup.

const stompit = require('stompit');

// "--name value" pairs over defaults; "--quiet" alone is a flag.
function parseArgs(argv, defaults) {
  const args = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in defaults) || !argv[i].startsWith('--')) {
      console.error(`unknown argument ${argv[i]}; options: ${Object.keys(defaults).map((k) => '--' + k).join(' ')}`);
      process.exit(2);
    }
    args[name] = typeof defaults[name] === 'boolean' ? true : argv[++i];
  }
  return args;
}

// "h1:p1,h2:p2" (master first) -> a ConnectFailover that tries them in that order,
// as ActiveMQ's failover:(tcp://h1:p1,tcp://h2:p2)?randomize=false. After a failed
// connect it moves to the next server, waiting 0.1 s growing to 1 s; a server that
// failed 60 times in a row is dropped, and with none left connect() reports an error.
function connectFailover(hosts) {
  const servers = hosts.split(',').map((hostPort) => {
    const colon = hostPort.lastIndexOf(':');
    return {
      host: hostPort.slice(0, colon) || '127.0.0.1',
      port: Number(hostPort.slice(colon + 1)),
      // Heart-beats notice a broker that hangs instead of dying: twinmq sends one after
      // 10 s of silence; 5 s more without anything counts as a dead connection.
      connectHeaders: { host: '/', 'heart-beat': '2000,2000' },
      heartbeatDelayMargin: 5000,
    };
  });
  return new stompit.ConnectFailover(servers, {
    randomize: false,
    initialReconnectDelay: 100,
    maxReconnectDelay: 1000,
    maxReconnects: 60,
  });
}

function serverName(server) {
  const options = server.serverProperties.connectOptions;
  return `${options.host}:${options.port}`;
}

module.exports = { parseArgs, connectFailover, serverName };
