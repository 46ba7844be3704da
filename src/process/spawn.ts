// A race-free spawn: the child is a member of the profile's cgroup before the
// program's first instruction (addon.spawnInCgroup: clone3 CLONE_INTO_CGROUP on
// cgroup v2, fork + join via `tasks` + exec on v1), so no socket it ever opens
// is outside the profile. child_process.spawn followed by an enroll would leave
// a window in which the program runs unconfined.
//
// What comes back behaves like Node's ChildProcess for the parts programs use:
// stdin/stdout/stderr streams ('pipe', 'inherit', 'ignore' or an fd), 'spawn',
// 'exit' and 'close' with (code, signal), 'error' when the program cannot start,
// .pid, .exitCode, .signalCode, .kill(), .ref()/.unref(). Exit is noticed through
// a pidfd watched by the event loop (no SIGCHLD handler), and the child is reaped
// then, so .kill() before 'exit' can never hit a reused PID.
import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

import type { Config } from '../config/index.js';
import { profileCgroupDir } from '../cgroups/profile.js';
import { addon, type PidfdWatch } from '../native/index.js';

export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number;

export interface SpawnOptions {
  /** Exactly this environment (undefined values dropped); default process.env. `command` is looked up in its PATH. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** One option for all three, or one each for fds 0, 1, 2; default 'pipe'. */
  stdio?: StdioOption | [StdioOption, StdioOption, StdioOption];
  /** argv[0] the program sees; default `command`. */
  argv0?: string;
  /** How the child gets into the cgroup; default 'auto' (clone3 on cgroup2, fork on v1). */
  method?: 'auto' | 'clone3' | 'fork';
}

/** The ChildProcess-like object spawn() returns. */
export class ProfileChildProcess extends EventEmitter {
  /** undefined when the program could not be started ('error' follows). */
  pid: number | undefined;
  readonly stdin: Writable | null = null;
  readonly stdout: Readable | null = null;
  readonly stderr: Readable | null = null;
  readonly stdio: [Writable | null, Readable | null, Readable | null];
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  /** True once kill() delivered a signal. */
  killed = false;
  readonly spawnfile: string;
  readonly spawnargs: string[];
  /** How the child entered the cgroup ('clone3' or 'fork'); undefined if it did not start. */
  method: 'clone3' | 'fork' | undefined;

  #pidfd = -1;
  #watch: PidfdWatch | undefined;
  #closesNeeded = 1; // the exit itself, plus one per piped output stream

  constructor(cgroupDir: string, command: string, args: readonly string[], options: SpawnOptions = {}) {
    super();
    this.spawnfile = command;
    this.spawnargs = [options.argv0 ?? command, ...args];
    const modes = normaliseStdio(options.stdio);
    const childFds: number[] = [];
    const parentFds: Array<number | undefined> = [];
    const closeAfterSpawn: number[] = [];
    try {
      modes.forEach((mode, i) => {
        if (mode === 'pipe') {
          const [r, w] = addon.pipe();
          childFds.push(i === 0 ? r : w);
          parentFds.push(i === 0 ? w : r);
          closeAfterSpawn.push(i === 0 ? r : w);
        } else if (mode === 'ignore') {
          // 'r+' (O_RDWR, as child_process does): never O_CREAT, so a missing /dev/null fails instead of becoming a file.
          const fd = openSync('/dev/null', 'r+');
          childFds.push(fd);
          parentFds.push(undefined);
          closeAfterSpawn.push(fd);
        } else {
          childFds.push(mode === 'inherit' ? i : mode);
          parentFds.push(undefined);
        }
      });
    } catch (err) {
      for (const fd of [...closeAfterSpawn, ...parentFds]) if (fd !== undefined) closeSync(fd);
      throw err;
    }

    let spawned: ReturnType<typeof addon.spawnInCgroup>;
    try {
      spawned = addon.spawnInCgroup({
        file: command,
        argv: this.spawnargs,
        env: plainEnv(options.env ?? process.env),
        ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
        cgroup: cgroupDir,
        stdio: childFds as [number, number, number],
        ...(options.method ? { method: options.method } : {}),
      });
    } catch (err) {
      // Like child_process: a program that cannot start is an 'error' event, not a throw.
      for (const fd of parentFds) if (fd !== undefined) closeSync(fd);
      this.stdio = [null, null, null];
      process.nextTick(() => this.emit('error', err));
      return;
    } finally {
      for (const fd of closeAfterSpawn) closeSync(fd);
    }

    this.pid = spawned.pid;
    this.method = spawned.method;
    this.#pidfd = spawned.pidfd;
    const [inFd, outFd, errFd] = parentFds;
    this.stdin = inFd === undefined ? null : new Socket({ fd: inFd, readable: false, writable: true });
    this.stdout = outFd === undefined ? null : this.#output(outFd);
    this.stderr = errFd === undefined ? null : this.#output(errFd);
    this.stdio = [this.stdin, this.stdout, this.stderr];
    this.#watch = new addon.PidfdWatch(spawned.pidfd, () => this.#onExit());
    process.nextTick(() => this.emit('spawn'));
  }

  /** Sends `signal` (default SIGTERM). False once the child has exited (it is reaped then: no PID reuse race). */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.pid === undefined || this.#pidfd < 0) return false;
    try {
      process.kill(this.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
    this.killed = true;
    return true;
  }

  /** Like ChildProcess: an unref'd child does not keep the event loop alive (its stdio streams still do until closed). */
  unref(): void {
    this.#watch?.unref();
  }

  ref(): void {
    this.#watch?.ref();
  }

  #output(fd: number): Readable {
    const socket = new Socket({ fd, readable: true, writable: false });
    this.#closesNeeded++;
    socket.on('close', () => this.#maybeClose());
    return socket;
  }

  #onExit(): void {
    const result = addon.pidfdWait(this.#pidfd, true);
    if (!result.exited) return;
    this.#watch?.close();
    this.#watch = undefined;
    closeSync(this.#pidfd);
    this.#pidfd = -1;
    this.exitCode = result.code;
    this.signalCode = result.signal as NodeJS.Signals | null;
    // As child_process does: nobody reads the exited program's stdin any more.
    if (this.stdin) this.stdin.destroy();
    this.emit('exit', this.exitCode, this.signalCode);
    this.#maybeClose();
  }

  #maybeClose(): void {
    if (--this.#closesNeeded === 0) this.emit('close', this.exitCode, this.signalCode);
  }
}

function normaliseStdio(stdio: SpawnOptions['stdio']): [StdioOption, StdioOption, StdioOption] {
  if (stdio === undefined) return ['pipe', 'pipe', 'pipe'];
  if (!Array.isArray(stdio)) return [stdio, stdio, stdio];
  return stdio;
}

function plainEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Starts `command args` inside the profile's cgroup, race-free (see the top of this file).
 * Throws at once (NetcgError ENOPROFILE / ENOCGROUP) when the profile has no cgroup; a program
 * that cannot be started (ENOENT, EACCES) is an 'error' event, as with child_process.spawn.
 */
export function spawn(
  config: Config,
  profile: string,
  command: string,
  args: readonly string[] = [],
  options: SpawnOptions = {},
): ProfileChildProcess {
  return new ProfileChildProcess(profileCgroupDir(config, profile), command, args, options);
}

/** spawn() into any cgroup directory (v1 or cgroup2), without a config. */
export function spawnInCgroup(
  cgroupDir: string,
  command: string,
  args: readonly string[] = [],
  options: SpawnOptions = {},
): ProfileChildProcess {
  return new ProfileChildProcess(cgroupDir, command, args, options);
}
