// What the redirect-server e2e tests share about their daemons: dnsmasq's argv and
// how a daemon is stopped.
import type { ChildProcess } from 'node:child_process';

/** dnsmasq in the foreground on 127.0.0.1:`port`, answering `name` with `addr` and nothing else; started as root, it drops to nobody. */
export function dnsmasqArgv(port: number, name: string, addr: string): string[] {
  return [
    '/usr/sbin/dnsmasq',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--conf-file=/dev/null',
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    `--port=${port}`,
    '--pid-file',
    '--user=nobody',
    '--cache-size=0',
    `--address=/${name}/${addr}`,
  ];
}

/** The prefix that runs a command as `user` (group nogroup, no others) from its start: never root. */
export const asUser = (user: string): string[] => [
  'setpriv',
  `--reuid=${user}`,
  '--regid=nogroup',
  '--clear-groups',
];

/** SIGTERM, then waits until it exited; nothing if it is gone already. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
