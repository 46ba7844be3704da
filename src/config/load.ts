// Reading a config: YAML (or JSON, which YAML parses) → schema → cross-value
// checks → a normalized Config. Every problem found on the way is collected and
// reported at once as a ConfigError whose issues point at FILE:LINE:COL and the key
// path, sorted by position like a compiler's output.
import { readFileSync } from 'node:fs';

import { LineCounter, isMap, isScalar, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

import { ConfigError, NetcgError, type ConfigIssue } from '../shared/errors.js';
import { lineCol, offsetOfPath, pathAtOffset, repeatedKeys } from './locate.js';
import {
  DEFAULT_CGROUP_PARENT,
  DEFAULT_IP_RULE_PRIORITY,
  DEFAULT_MATCH,
  DEFAULT_TABLE,
  gatewaysOf,
  configSchema,
  dnsSchema,
  parseClassid,
  profileSchema,
  proxySchema,
  routeSchema,
  type Config,
  type ProfileConfig,
} from './schema.js';
import { relationsOf, type PathIssue, type Routing } from './validate.js';

type ParsedConfig = z.output<typeof configSchema>;

/** The keys a strict object at `path` accepts, for "did you mean" hints. */
function knownKeysAt(path: readonly string[]): string[] {
  const shape =
    path.length === 0
      ? configSchema.shape
      : path.length === 2 && path[0] === 'profiles'
        ? profileSchema.shape
        : path.length === 3 && path[2] === 'dns'
          ? dnsSchema.shape
          : path.length === 3 && path[2] === 'route'
            ? routeSchema.shape
            : path.length === 3 && path[2] === 'proxy'
              ? proxySchema.shape
              : {};
  return Object.keys(shape);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known key closest to a misspelt one, if any is close enough to be a plausible typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function fromZod(issues: z.core.$ZodIssue[]): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(path);
      for (const key of issue.keys) {
        const guess = closestKey(key, known);
        out.push({
          path: [...path, key],
          at: 'key',
          message: `unknown key "${key}"${guess ? `; did you mean "${guess}"?` : ''} (known keys here: ${known.join(', ')})`,
        });
      }
    } else {
      // A missing key is reported at its parent; name it, since the path alone reads like the key exists.
      const message = issue.message.startsWith('missing; ')
        ? `required key "${path.at(-1)}" is missing; ${issue.message.slice('missing; '.length)}`
        : issue.message;
      out.push({ path, at: 'value', message });
    }
  }
  return out;
}

/** The config with defaults applied; `routing` is what relationsOf derived for it (it has no issues). */
function normalize(data: ParsedConfig, file: string, routing: ReadonlyMap<string, Routing>): Config {
  const profiles = Object.fromEntries(
    Object.entries(data.profiles).map(([name, p]): [string, ProfileConfig] => {
      const profile: ProfileConfig = { name };
      if (p.match !== undefined && p.match !== DEFAULT_MATCH) profile.match = p.match;
      if (p.classid !== undefined) profile.classid = parseClassid(p.classid) as number;
      if (p.cgroup !== undefined) profile.cgroup = p.cgroup;
      if (p.owner !== undefined) profile.owner = String(p.owner);
      if (p.dns)
        profile.dns =
          p.dns.server === undefined
            ? { redirect: p.dns.redirect }
            : { redirect: p.dns.redirect, server: String(p.dns.server) };
      if (p.ipv6) profile.ipv6 = p.ipv6;
      if (p.route) {
        const r = routing.get(name)!;
        profile.route = {
          via: p.route.via,
          mark: r.mark,
          table: r.table,
          copyLinkRoutes: r.copyLinkRoutes,
          masquerade: r.masquerade,
          failClosed: r.failClosed,
          ...(r.allocated ? { allocated: true as const } : {}),
          ...gatewaysOf(p.route),
        };
      }
      if (p.network) profile.network = p.network;
      if (p.proxy)
        profile.proxy = {
          tcp: p.proxy.tcp,
          ...(p.proxy.udp ? { udp: p.proxy.udp } : {}),
          ...(p.proxy.server !== undefined ? { server: String(p.proxy.server) } : {}),
        };
      return [name, profile];
    }),
  );
  return {
    file,
    table: data.table ?? DEFAULT_TABLE,
    cgroupParent: data.cgroupParent ?? DEFAULT_CGROUP_PARENT,
    ipRulePriority: data.ipRulePriority ?? DEFAULT_IP_RULE_PRIORITY,
    profiles,
  };
}

/**
 * `__proto__` as a profile name would vanish silently when the YAML becomes a
 * JavaScript object (it sets the prototype instead of a key), so it is caught on
 * the document itself.
 */
function prototypeKeys(doc: Document): PathIssue[] {
  const profiles = doc.get('profiles', true);
  if (!isMap(profiles)) return [];
  return profiles.items
    .filter((pair) => isScalar(pair.key) && pair.key.value === '__proto__')
    .map(() => ({
      path: ['profiles', '__proto__'],
      at: 'key' as const,
      message: '"__proto__" cannot be a profile name; choose another name',
    }));
}

/**
 * Names the cgroup filesystem already uses for files in every cgroup (v1 and v2):
 * a profile called "tasks" or "net_cls.classid" passes the name rule, but its
 * directory cannot be made (the file is there), and apply would fail halfway.
 */
const CGROUP_FILE_RE =
  /^(?:tasks|notify_on_release|release_agent|(?:cgroup|net_cls|net_prio|cpu|cpuacct|cpuset|memory|io|blkio|pids|devices|freezer|perf_event|hugetlb|rdma|misc)\..*)$/;

/** Whether a profile name collides with a file every cgroup directory already has. */
export function isCgroupFileName(name: string): boolean {
  return CGROUP_FILE_RE.test(name);
}

function cgroupFileNames(names: readonly unknown[]): PathIssue[] {
  return names.flatMap((name) => {
    if (typeof name !== 'string' || !CGROUP_FILE_RE.test(name)) return [];
    return [
      {
        path: ['profiles', name],
        at: 'key' as const,
        message: `"${name}" is the name of a file the cgroup filesystem keeps in every cgroup, so no profile directory can have it; choose another name`,
      },
    ];
  });
}

/** The profile names as the document writes them (a key may be a number or null there). */
function profileKeysOf(doc: Document): unknown[] {
  const profiles = doc.get('profiles', true);
  return isMap(profiles)
    ? profiles.items.map((pair) => (isScalar(pair.key) ? pair.key.value : undefined))
    : [];
}

/** The issues at their LINE:COL, sorted by position like a compiler's output. */
function located(
  issues: PathIssue[],
  file: string,
  lines: LineCounter,
  offsetOf: (issue: PathIssue) => number,
): ConfigIssue[] {
  return issues
    .map((i) => ({ file, ...lineCol(lines, offsetOf(i)), path: i.path.join('.'), message: i.message }))
    .sort((a, b) => a.line - b.line || a.col - b.col);
}

/** How to find an issue's place in the source; only asked for when there are issues. */
type Locator = () => { lines: LineCounter; offsetOf: (issue: PathIssue) => number };

/**
 * Checks the document (as JavaScript) against the schema and the cross-value rules
 * and returns the normalized Config, or throws every issue, located. `names` are the
 * profile keys as written; `documentIssues` what only the document itself shows.
 */
function checked(
  raw: unknown,
  names: readonly unknown[],
  documentIssues: PathIssue[],
  fileName: string,
  locate: Locator,
): Config {
  const parsed = configSchema.safeParse(raw);
  const relations = relationsOf(raw);
  const issues = [
    ...(parsed.success ? [] : fromZod(parsed.error.issues)),
    ...relations.issues,
    ...documentIssues,
    ...cgroupFileNames(names),
  ];
  if (issues.length > 0 || !parsed.success) {
    const { lines, offsetOf } = locate();
    throw new ConfigError(located(issues, fileName, lines, offsetOf));
  }
  return normalize(parsed.data, fileName, relations.routing);
}

/** A YAML error as the library reports it (only the code, the offset and the message are used). */
interface YamlError {
  code: string;
  pos: [number, number];
  message: string;
}

/**
 * The `yaml` library's document and its errors. The library's own duplicate-key check
 * compares each key with every earlier one (quadratic: seconds for 10,000 profiles),
 * so the document is read without it and repeated keys are found in linear time.
 * When they are the only errors, they are reported where and in the order the
 * library would; among other errors (or where repeatedKeys is unsure), the library
 * is asked again.
 */
function parseYaml(text: string): { doc: Document; lines: LineCounter; errors: YamlError[] } {
  const options = { prettyErrors: false, uniqueKeys: false } as const;
  const lines = new LineCounter();
  const doc: Document = parseDocument(text, { ...options, lineCounter: lines });
  const repeated = repeatedKeys(doc);
  if (repeated?.length === 0) return { doc, lines, errors: doc.errors };
  if (repeated && doc.errors.length === 0)
    return {
      doc,
      lines,
      errors: repeated.map((offset) => ({
        code: 'DUPLICATE_KEY',
        pos: [offset, offset + 1],
        message: 'Map keys must be unique',
      })),
    };
  const strictLines = new LineCounter();
  const strict: Document = parseDocument(text, { ...options, uniqueKeys: true, lineCounter: strictLines });
  return { doc: strict, lines: strictLines, errors: strict.errors };
}

/** Parses and checks config text; `fileName` is only used in messages. Throws ConfigError listing every issue. */
export function parseConfig(text: string, fileName: string): Config {
  const { doc, lines, errors } = parseYaml(text);

  if (errors.length > 0) {
    throw new ConfigError(
      errors.map((e) => {
        const path = pathAtOffset(doc, e.pos[0]);
        const message =
          e.code === 'DUPLICATE_KEY'
            ? `duplicate key "${path.at(-1) ?? ''}"; a key may appear only once in a mapping, remove or merge one of them`
            : `YAML syntax error: ${e.message}`;
        return { file: fileName, ...lineCol(lines, e.pos[0]), path: path.join('.'), message };
      }),
    );
  }
  if (doc.contents === null) {
    throw new ConfigError([
      {
        file: fileName,
        line: 1,
        col: 1,
        path: '',
        message: 'the file is empty; expected a mapping with at least `profiles:` (see examples/seed.yaml)',
      },
    ]);
  }

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new ConfigError([
      {
        file: fileName,
        line: 1,
        col: 1,
        path: '',
        message: `cannot read the YAML: ${(err as Error).message}`,
      },
    ]);
  }

  return checked(raw, profileKeysOf(doc), prototypeKeys(doc), fileName, () => ({
    lines,
    offsetOf: (i) => offsetOfPath(doc, i.path, i.at),
  }));
}

/** Reads and checks a config file (YAML or JSON). */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new NetcgError('ENOCONFIG', `cannot read config file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseConfig(text, file);
}

/**
 * Where `path` (e.g. profiles.vpn.route.via) is written in `file`, for errors found
 * after loading (the kernel lacks a `via` interface): read again only on that error
 * path, so a loaded Config carries no source positions. Undefined when the file is
 * gone or no longer has the key.
 */
export function locateKey(file: string, path: readonly string[]): { line: number; col: number } | undefined {
  try {
    const lines = new LineCounter();
    const doc: Document = parseDocument(readFileSync(file, 'utf8'), {
      prettyErrors: false,
      uniqueKeys: false,
      lineCounter: lines,
    });
    if (!doc.hasIn(path)) return undefined;
    return lineCol(lines, offsetOfPath(doc, path, 'value'));
  } catch {
    return undefined;
  }
}
