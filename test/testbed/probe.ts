// The bench's client, run as a profile member or not: `node probe.js tcp|udp HOST PORT`.
// Prints the echo gateway's answer ("<gateway> <source it saw>") and exits 0, or
// prints "error <CODE>" to stderr and exits 1 (refused, rejected, timed out...).
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';

const TIMEOUT_MS = 3000;

function fail(code: string): never {
  process.stderr.write(`error ${code}\n`);
  process.exit(1);
}

function probeTcp(host: string, port: number): void {
  let answer = '';
  const sock = connect({ host, port });
  sock.setTimeout(TIMEOUT_MS, () => fail('ETIMEDOUT'));
  sock.on('data', (chunk) => (answer += chunk.toString()));
  sock.on('end', () => {
    process.stdout.write(answer);
    process.exit(0);
  });
  sock.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
}

function probeUdp(host: string, port: number): void {
  const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  const timer = setTimeout(() => fail('ETIMEDOUT'), TIMEOUT_MS);
  sock.on('message', (msg) => {
    clearTimeout(timer);
    process.stdout.write(msg.toString());
    process.exit(0);
  });
  sock.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  sock.send('probe\n', port, host, (err) => {
    if (err) fail((err as NodeJS.ErrnoException).code ?? err.message);
  });
}

const [proto, host, port] = process.argv.slice(2);
if ((proto !== 'tcp' && proto !== 'udp') || !host || !Number.isInteger(Number(port))) {
  process.stderr.write('usage: probe tcp|udp HOST PORT\n');
  process.exit(2);
}
if (proto === 'tcp') probeTcp(host, Number(port));
else probeUdp(host, Number(port));
