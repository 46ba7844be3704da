// Preloaded (NODE_OPTIONS=--require) into the node processes of the sanitized
// suite (scripts/test-sanitized.sh): vitest's main process and the workers it
// forks. Only the workers run the tests, so only they get the ASan runtime
// (LD_PRELOAD=$NETCG_ASAN_RUNTIME, added to child_process.fork, which is how
// vitest starts them) and load the ASan+UBSan addon (NETCG_ADDON). vitest's
// main process stays uninstrumented: its bundler's native module is not ours.
//
// Every other process, i.e. what tests spawn, gets the environment of a plain
// run: no ASan runtime, no addon override (a netcg CLI child loads the regular
// build/Release addon), no preload of this file. Most programs the tests run
// are not fit for an inherited ASan runtime: dnsmasq deadlocks under it, dig
// reports its own leaks, LeakSanitizer fails under strace.
'use strict';
const childProcess = require('node:child_process');
const { syncBuiltinESMExports } = require('node:module');
const { promisify } = require('node:util');

const SANITIZER_ONLY = ['LD_PRELOAD', 'NETCG_ADDON', 'NETCG_ASAN_RUNTIME'];
const THIS_PRELOAD = /\s*--require[= ]\S*scope\.cjs/g;

function plainEnv(env) {
  const out = { ...(env ?? process.env) };
  for (const key of SANITIZER_ONLY) delete out[key];
  if (out.NODE_OPTIONS !== undefined) {
    out.NODE_OPTIONS = out.NODE_OPTIONS.replace(THIS_PRELOAD, '').trim();
    if (out.NODE_OPTIONS === '') delete out.NODE_OPTIONS;
  }
  return out;
}

const isOptions = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// (command, [args], [options], [callback]) -> the same with options.env plain.
function withPlainEnv(args) {
  const out = [...args];
  const at = Array.isArray(out[1]) ? 2 : 1;
  if (isOptions(out[at])) out[at] = { ...out[at], env: plainEnv(out[at].env) };
  else if (out[at] === undefined || out[at] === null) out[at] = { env: plainEnv() };
  else out.splice(at, 0, { env: plainEnv() }); // a callback where the options would be
  return out;
}

for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync']) {
  const original = childProcess[name];
  const wrapped = function (...args) {
    return original.apply(this, withPlainEnv(args));
  };
  // exec/execFile resolve to {stdout, stderr} when promisified: keep that.
  if (original[promisify.custom] !== undefined) {
    const custom = original[promisify.custom];
    wrapped[promisify.custom] = (...args) => custom(...withPlainEnv(args));
  }
  childProcess[name] = wrapped;
}
const runtime = process.env.NETCG_ASAN_RUNTIME;
if (runtime !== undefined) {
  const fork = childProcess.fork;
  childProcess.fork = function (modulePath, ...rest) {
    const args = [modulePath, ...rest];
    const at = Array.isArray(args[1]) ? 2 : 1;
    const options = isOptions(args[at]) ? args[at] : {};
    args[at] = { ...options, env: { ...(options.env ?? process.env), LD_PRELOAD: runtime } };
    const child = fork.apply(this, args);
    // vitest stops a worker with SIGTERM and SIGKILLs it 500 ms later; the
    // worker's exit-time leak check takes longer than that, so give it a minute.
    const kill = child.kill.bind(child);
    child.kill = (signal) => {
      if (signal !== 'SIGKILL') return kill(signal);
      setTimeout(() => kill('SIGKILL'), 60_000).unref();
      return true;
    };
    return child;
  };
}
syncBuiltinESMExports(); // `import { spawn } from 'node:child_process'` sees the wrappers too

// vitest stops a worker with SIGTERM, whose default action skips exit(3) and
// with it LeakSanitizer's check; exit normally instead, so the check runs.
if (typeof process.send === 'function') process.on('SIGTERM', () => process.exit(0));
