// The options several commands share, defined once: the same flag, the same
// wording in --help, the man pages and the completion script everywhere. Cheap to
// import (commander only): command definitions use these, and `--help` never loads
// more than this.
import { Option } from 'commander';

export const DEFAULT_CONFIG = '/etc/netcg/config.yaml';

/** What commander hands the actions of commands that read a config (-c, --trust-config, --json). */
export interface ConfigCommandOptions {
  readonly config?: string;
  readonly trustConfig?: boolean;
  readonly json?: boolean;
}

/** …and that act in a namespace through a backend (apply, down). */
export interface KernelCommandOptions extends ConfigCommandOptions {
  readonly backend: string;
  readonly netns?: string;
}

/** -c FILE, else $NETCG_CONFIG, else /etc/netcg/config.yaml. */
export function configPath(flag: string | undefined): string {
  return flag ?? process.env.NETCG_CONFIG ?? DEFAULT_CONFIG;
}

/** `-c, --config <file>`; `note` adds to the description (e.g. what happens without one). */
export function configOption(note?: string): Option {
  const where = `default: $NETCG_CONFIG, then ${DEFAULT_CONFIG}`;
  return new Option(
    '-c, --config <file>',
    note ? `${note}: config file (${where})` : `config file (${where})`,
  );
}

/** `--netns <path>`: `what` says what the command does there, e.g. "apply inside this network namespace". */
export function netnsOption(what: string): Option {
  return new Option('--netns <path>', what);
}

/** `--json`: `what` says what is printed, e.g. "print the plan as JSON (schema: docs/diff-json.md)". */
export function jsonOption(what: string): Option {
  return new Option('--json', what);
}

/** `--backend <name>`, netlink (the default) or nft. */
export function backendOption(
  what = 'netlink (default: the addon, no process spawned) or nft (nft -f and ip -batch)',
): Option {
  return new Option('--backend <name>', what).choices(['netlink', 'nft']).default('netlink');
}

/** `--trust-config`: run as root with a config someone else could change (see docs/config.md). */
export function trustConfigOption(): Option {
  return new Option(
    '--trust-config',
    'use the config even if someone other than root can change it (a warning says so)',
  );
}
