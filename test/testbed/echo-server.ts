// Tiny UDP+TCP echo gateway for the bench: `node echo-server.js NAME PORT`.
// Answers every TCP connection and every UDP datagram with "<NAME> <source address
// it saw>", so a probe learns which gateway it reached and with what source.
// Prints "ready" once both sockets listen (the bench waits for that line).
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** '::ffff:198.18.1.1' -> '198.18.1.1': the dual-stack socket shows v4 peers mapped. */
function plainAddress(address: string | undefined): string {
  return (address ?? '?').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

function main(name: string, port: number): void {
  const tcp = createServer((conn) => {
    conn.on('error', () => conn.destroy());
    conn.end(`${name} ${plainAddress(conn.remoteAddress)}\n`);
  });
  const udp = createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (_msg, peer) =>
    udp.send(`${name} ${plainAddress(peer.address)}\n`, peer.port, peer.address),
  );
  let listening = 0;
  const ready = () => {
    if (++listening === 2) process.stdout.write('ready\n');
  };
  tcp.listen({ host: '::', port, ipv6Only: false }, ready);
  udp.bind({ address: '::', port }, ready);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
}

const [name, port] = process.argv.slice(2);
if (!name || !port || !Number.isInteger(Number(port))) {
  process.stderr.write('usage: echo-server NAME PORT\n');
  process.exit(2);
}
main(name, Number(port));
