import type { Backend } from '../../backends/types.js';
import type { Config } from '../../config/index.js';
import { NetcgError } from '../../shared/errors.js';
import { collectStatus, computeRates, formatStatus, type StatusSnapshot } from '../../status/index.js';
import { out as pc } from '../colors.js';
import { openBackend, printJson, withBackend } from '../common.js';
import { configPath } from '../options.js';
import { loadTrustedConfig } from '../trusted-config.js';

interface StatusOptions {
  config?: string;
  trustConfig?: boolean;
  netns?: string;
  json?: boolean;
  watch?: boolean;
  interval: string;
}

// Alternate screen + hidden cursor while watching, like top; both undone on exit.
const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

function parseInterval(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0.1)
    throw new NetcgError('EUSAGE', `--interval ${text} is not a number of seconds >= 0.1`);
  return seconds;
}

/** Redraws the screen every `seconds` until q, Ctrl-C or SIGTERM; resolves once the terminal is restored. */
function watch(config: Config, backend: Backend, seconds: number): Promise<void> {
  const stdout = process.stdout;
  const stdin = process.stdin;
  let prev: StatusSnapshot | undefined;
  let timer: NodeJS.Timeout | undefined;

  const draw = () => {
    const width = stdout.columns || 80;
    const height = stdout.rows || 24;
    let lines: string[];
    try {
      const cur = collectStatus(config, backend);
      lines = formatStatus(cur, {
        color: pc.isColorSupported,
        width,
        ...(prev ? { rates: computeRates(prev, cur) } : {}),
        footer: `q quit · every ${seconds}s${prev ? '' : ' · rates from the next sample'}`,
      });
      prev = cur;
    } catch (err) {
      lines = [`netcg status: ${(err as Error).message}`.slice(0, width), 'q quit'];
    }
    if (lines.length > height)
      lines = [
        ...lines.slice(0, height - 1),
        `… ${lines.length - height + 1} more lines (enlarge the terminal)`.slice(0, width),
      ];
    stdout.write(`${HOME}${lines.join(`${CLEAR_LINE}\n`)}${CLEAR_LINE}${CLEAR_BELOW}`);
  };

  return new Promise((resolve) => {
    let done = false;
    const stop = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
      stdin.off('data', onKey);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      stdout.write(LEAVE);
      resolve();
    };
    const onKey = (key: Buffer) => {
      const k = key.toString();
      if (k === 'q' || k === 'Q' || k === '\x03' || k === '\x1b') stop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
    stdout.write(ENTER);
    const tick = () => {
      if (done) return;
      draw();
      timer = setTimeout(tick, seconds * 1000);
    };
    tick();
  });
}

export async function action(opts: StatusOptions): Promise<void> {
  const config = loadTrustedConfig(configPath(opts.config), opts.trustConfig).config;
  if (opts.watch) {
    if (opts.json)
      throw new NetcgError(
        'EUSAGE',
        '--watch and --json do not go together; poll `netcg status --json` instead',
      );
    const seconds = parseInterval(opts.interval);
    const backend = openBackend('netlink', opts.netns);
    try {
      await watch(config, backend, seconds);
    } finally {
      backend.close();
    }
    return;
  }
  const snapshot = withBackend('netlink', opts.netns, (b) => collectStatus(config, b));
  if (opts.json) printJson(snapshot);
  else
    process.stdout.write(
      `${formatStatus(snapshot, { color: pc.isColorSupported, width: Math.max(process.stdout.columns || 80, 80) }).join('\n')}\n`,
    );
}
