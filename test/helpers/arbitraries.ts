// fast-check arbitraries for netcg config files: plausible valid configs, and the
// same configs damaged in the ways users and attackers damage them (wrong types,
// unknown keys, out-of-range and huge numbers, duplicate classids, bad or unicode
// names, broken or truncated YAML, deep nesting). Each case is the file's text plus
// what the mutation aimed at, so a test can demand that the error names that key.
//
// Profiles are kept as [name, profile] pairs and rendered through a Map, so names
// such as "__proto__" reach the file instead of vanishing into a prototype.
import fc from 'fast-check';
import { stringify } from 'yaml';

import { isCgroupFileName } from '../../src/config/index.js';

export interface RouteSpec {
  via: string;
  copyLinkRoutes?: boolean;
  masquerade?: boolean;
  table?: number;
  mark?: number;
}

export interface ProfileSpec {
  classid?: number | string;
  match?: 'auto' | 'net_cls' | 'cgroupv2';
  owner?: string | number;
  dns?: { redirect: number };
  ipv6?: 'reject';
  route?: RouteSpec;
}

export interface ConfigSpec {
  ipRulePriority?: number;
  profiles: Array<[string, ProfileSpec]>;
}

/** A generated file: its text and, for mutations aimed at a key, the key paths an error may name (any one will do). */
export interface ConfigCase {
  kind: string;
  text: string;
  /** Dotted key paths; an issue whose path starts with one of them counts. Empty: the mutation has no single key (broken YAML, truncation). */
  paths: string[];
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';

/** Valid profile names: PROFILE_NAME_RE, kept short, and not a cgroup file's name (tasks, io.max, ...). */
export const profileNameArb = fc
  .tuple(
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_'),
    fc.string({ unit: fc.constantFrom(...NAME_CHARS), maxLength: 11 }),
  )
  .map(([first, rest]) => first + rest)
  .filter((n) => !isCgroupFileName(n));

function profileArb(via: string): fc.Arbitrary<ProfileSpec> {
  return fc
    .record(
      {
        match: fc.constantFrom<ProfileSpec['match']>('auto', 'net_cls', 'cgroupv2'),
        owner: fc.constantFrom<string | number>('root', 0),
        dns: fc.record({ redirect: fc.integer({ min: 1, max: 65535 }) }),
        ipv6: fc.constant('reject' as const),
        route: fc.record({ via: fc.constant(via) }),
      },
      { requiredKeys: [] },
    )
    .filter((p) => p.dns !== undefined || p.ipv6 !== undefined || p.route !== undefined);
}

/**
 * Valid configs routing only through `via`: unique names and classids (classids
 * start above 255, so a derived routing table is never one the kernel reserves).
 */
export function validConfigArb(via: string, maxProfiles = 6): fc.Arbitrary<ConfigSpec> {
  return fc
    .record(
      {
        ipRulePriority: fc.integer({ min: 1, max: 32765 }),
        // Profiles routing through one interface share a mark and a table, so they must agree on these.
        routeFlags: fc.record(
          { copyLinkRoutes: fc.boolean(), masquerade: fc.boolean() },
          { requiredKeys: [] },
        ),
        profiles: fc.uniqueArray(
          fc.tuple(profileNameArb, profileArb(via), fc.integer({ min: 256, max: 0xfffff })),
          {
            minLength: 1,
            maxLength: maxProfiles,
            selector: ([name]) => name,
          },
        ),
      },
      { requiredKeys: ['profiles', 'routeFlags'] },
    )
    .map(({ ipRulePriority, routeFlags, profiles }) => {
      const seen = new Set<number>();
      const out: ConfigSpec = {
        profiles: profiles.map(([name, p, classid]) => {
          while (seen.has(classid)) classid++;
          seen.add(classid);
          if (p.route) p = { ...p, route: { ...p.route, ...routeFlags } };
          return [
            name,
            { ...p, classid: p.match === 'cgroupv2' && !p.route && classid % 3 === 0 ? undefined : classid },
          ] as [string, ProfileSpec];
        }),
      };
      if (ipRulePriority !== undefined) out.ipRulePriority = ipRulePriority;
      return out;
    });
}

/** Renders a spec as YAML (or JSON, which the loader accepts too); `head` (table, cgroupParent) comes first. */
export function renderConfig(
  head: { table: string; cgroupParent: string },
  doc: unknown,
  format: 'yaml' | 'json' = 'yaml',
): string {
  const text =
    format === 'json'
      ? JSON.stringify({ ...head, ...(toPlain(doc) as object) }, null, 2)
      : `table: ${head.table}\ncgroupParent: ${head.cgroupParent}\n${stringify(doc)}`;
  return text.replace(/"?__nest_(\d+)_(map|list)__"?/g, (_m, depth: string, kind: string) =>
    nestedText(Number(depth), kind === 'map', format === 'json'),
  );
}

/** JSON.stringify cannot write a Map; a plain object created key by key keeps "__proto__" as a key. */
function toPlain(value: unknown): unknown {
  if (value instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of value)
      Object.defineProperty(o, String(k), {
        value: toPlain(v),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    return o;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  return value;
}

/** The document of a spec: profiles as a Map, so any name survives. */
export function specDoc(spec: ConfigSpec): Map<string, unknown> {
  const doc = new Map<string, unknown>();
  if (spec.ipRulePriority !== undefined) doc.set('ipRulePriority', spec.ipRulePriority);
  doc.set('profiles', new Map(spec.profiles.map(([n, p]) => [n, structuredClone(p)])));
  return doc;
}

type Doc = Map<string, unknown>;
type Target = {
  path: string[];
  kind:
    | 'port'
    | 'classid'
    | 'priority'
    | 'bool'
    | 'ifname'
    | 'ipv6'
    | 'owner'
    | 'profile'
    | 'profiles'
    | 'table-name';
};

/** The keys of a document a mutation can aim at. */
function targets(spec: ConfigSpec): Target[] {
  const t: Target[] = [
    { path: ['profiles'], kind: 'profiles' },
    { path: ['table'], kind: 'table-name' },
  ];
  if (spec.ipRulePriority !== undefined) t.push({ path: ['ipRulePriority'], kind: 'priority' });
  for (const [name, p] of spec.profiles) {
    const at = ['profiles', name];
    t.push({ path: at, kind: 'profile' });
    if (p.classid !== undefined) t.push({ path: [...at, 'classid'], kind: 'classid' });
    if (p.dns) t.push({ path: [...at, 'dns', 'redirect'], kind: 'port' });
    if (p.ipv6) t.push({ path: [...at, 'ipv6'], kind: 'ipv6' });
    if (p.owner !== undefined) t.push({ path: [...at, 'owner'], kind: 'owner' });
    if (p.route) {
      t.push({ path: [...at, 'route', 'via'], kind: 'ifname' });
      if (p.route.copyLinkRoutes !== undefined)
        t.push({ path: [...at, 'route', 'copyLinkRoutes'], kind: 'bool' });
    }
  }
  return t;
}

function child(node: unknown, key: string): unknown {
  return node instanceof Map ? node.get(key) : (node as Record<string, unknown>)[key];
}

/** Sets `value` at `path` in a document of Maps and plain objects. ('table' set on the root overrides the head's line.) */
function setAt(doc: Doc, path: string[], value: unknown): void {
  let node: unknown = doc;
  for (const key of path.slice(0, -1)) node = child(node, key);
  const last = path.at(-1)!;
  if (node instanceof Map) node.set(last, value);
  else (node as Record<string, unknown>)[last] = value;
}

function mapAt(doc: Doc, path: string[]): Record<string, unknown> {
  let node: unknown = doc;
  for (const key of path) node = child(node, key);
  return node as Record<string, unknown>;
}

/** Values of a type the target never accepts. */
const WRONG_TYPE: Record<Target['kind'], unknown[]> = {
  port: ['fifty-three', '53', true, [53], { port: 53 }, null],
  classid: ['forty-two', true, [42], { id: 42 }, null, '42abc'],
  priority: ['high', true, [1], null],
  bool: ['yes please', 3.5, [true], { on: true }, null],
  ifname: [3.5, true, ['tun0'], { name: 'tun0' }, null],
  ipv6: ['allow', true, 6, ['reject'], null],
  owner: [true, [0], { uid: 0 }, -1, 1.5],
  profile: ['a string', 42, ['classid', 1], null, true],
  profiles: ['none', 7, [{ classid: 1 }], true],
  'table-name': [42, true, ['netcg'], { name: 'x' }],
};

const OUT_OF_RANGE: Partial<Record<Target['kind'], unknown[]>> = {
  port: [0, -1, 65536, 70000, 1.5, -0.5],
  classid: [0, -5, 2 ** 32, 2.5, '0x100000000', '-1'],
  priority: [0, -1, 32766, 40000, 2.5],
};

const HUGE: unknown[] = [
  Infinity,
  -Infinity,
  NaN,
  1e23,
  -1e300,
  Number.MAX_SAFE_INTEGER + 2,
  2 ** 64,
  Number.MIN_VALUE,
];

/** Names that are not one valid path component, plus unicode look-alikes. */
const BAD_NAMES = [
  'a/b',
  '.hidden',
  '-x',
  'has space',
  'x'.repeat(65),
  '..',
  '',
  'tab\tname',
  'ünïcode',
  '💥',
  'a\u200bb',
  'rtl\u202eevil',
  '__proto__',
  'line\nbreak',
  'nul\u0000',
];
/** Fine by the character rule, but files the cgroup filesystem keeps in every cgroup: mkdir cannot make them. */
const CONTROL_FILE_NAMES = [
  'tasks',
  'cgroup.procs',
  'net_cls.classid',
  'notify_on_release',
  'cgroup.subtree_control',
];
/** Interface names: too long in bytes, or unicode that fits in 15 bytes (valid text, absent from the kernel). */
const UNICODE_IFNAMES = [
  '😀😀😀😀',
  'tün0',
  'wg\u200b0',
  'ｔｕｎ０',
  'e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301',
];
const UNICODE_OWNERS = ['rööt', '用户', 'ro\u200bot', 'root\u202e'];

/**
 * Depth-d nested lists or mappings. A serializer would recurse as deep as the
 * value, so the document holds a placeholder that renderConfig swaps for the text.
 */
function nested(depth: number, map: boolean): string {
  return `__nest_${depth}_${map ? 'map' : 'list'}__`;
}

function nestedText(depth: number, map: boolean, json: boolean): string {
  const [open, close] = map ? [json ? '{"a": ' : '{a: ', '}'] : ['[', ']'];
  return `${open.repeat(depth)}1${close.repeat(depth)}`;
}

const BROKEN_LINES = [
  '  : [',
  '\t- tab indented',
  'key: "unclosed',
  '{{{',
  '  - a\n b: c',
  '@reserved',
  '%YAML 9.9',
  '- - -: :',
  'profiles: [',
  '? ? ?',
  '&anchor *alias',
  '"\\xZZ": 1',
];

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
/** One mutation family, or none when the config has nothing it could aim at. */
const when = <T, R>(
  xs: readonly T[],
  make: (x: fc.Arbitrary<T>) => fc.Arbitrary<R>,
): Array<fc.Arbitrary<R>> => (xs.length > 0 ? [make(pick(xs))] : []);

/** A valid config damaged by one mutation; see ConfigCase. */
export function mutatedConfigArb(
  head: { table: string; cgroupParent: string },
  via: string,
): fc.Arbitrary<ConfigCase> {
  return fc
    .tuple(validConfigArb(via, 4), fc.constantFrom<'yaml' | 'json'>('yaml', 'yaml', 'json'))
    .chain(([spec, format]) => {
      const ts = targets(spec);
      const render = (doc: unknown) => renderConfig(head, doc, format);
      const yamlText = renderConfig(head, specDoc(spec));
      const headLen = `table: ${head.table}\ncgroupParent: ${head.cgroupParent}\n`.length;
      const name0 = spec.profiles[0]![0];
      const aim = (t: Target) => t.path.join('.');

      const mutations: Array<fc.Arbitrary<ConfigCase>> = [
        fc.tuple(pick(ts), fc.nat()).map(([t, i]) => {
          const doc = specDoc(spec);
          setAt(doc, t.path, WRONG_TYPE[t.kind][i % WRONG_TYPE[t.kind].length]);
          return { kind: 'wrong type', text: render(doc), paths: [aim(t)] };
        }),
        fc
          .tuple(
            pick(ts.filter((t) => t.kind === 'profile' || t.kind === 'profiles')),
            fc.constantFrom('root', 'profile', 'route', 'dns'),
            profileNameArb,
          )
          .map(([t, where, key]) => {
            const doc = specDoc(spec);
            const [, name] = t.path.length === 2 ? t.path : ['profiles', name0];
            const parent =
              where === 'root' ? [] : where === 'profile' ? ['profiles', name!] : ['profiles', name!, where];
            const unknown = `x_${key}`;
            if (parent.length === 3 && !mapAt(doc, parent.slice(0, 2))[parent[2]!]) {
              // No route/dns here yet: add a valid one so the unknown key sits inside a known mapping.
              mapAt(doc, parent.slice(0, 2))[parent[2]!] =
                parent[2] === 'route' ? { via } : { redirect: 5353 };
            }
            setAt(doc, [...parent, unknown], 1);
            return { kind: 'unknown key', text: render(doc), paths: [[...parent, unknown].join('.')] };
          }),
        ...when(
          ts.filter((t) => OUT_OF_RANGE[t.kind]),
          (target) =>
            fc.tuple(target, fc.nat()).map(([t, i]) => {
              const doc = specDoc(spec);
              const values = OUT_OF_RANGE[t.kind]!;
              setAt(doc, t.path, values[i % values.length]);
              return { kind: 'out of range', text: render(doc), paths: [aim(t)] };
            }),
        ),
        ...when(
          spec.profiles.filter(([, p]) => p.classid !== undefined),
          (profile) =>
            fc.tuple(profile, profileNameArb, fc.boolean()).map(([[orig, p], name, hex]) => {
              const doc = specDoc(spec);
              const dup = `dup_${name}`;
              const n = Number(p.classid);
              (doc.get('profiles') as Map<string, unknown>).set(dup, {
                classid: hex ? `0x${n.toString(16)}` : n,
                ipv6: 'reject',
              });
              return {
                kind: 'duplicate classid',
                text: render(doc),
                paths: [`profiles.${dup}.classid`, `profiles.${orig}.classid`],
              };
            }),
        ),
        fc.tuple(pick(spec.profiles), pick([...BAD_NAMES, ...CONTROL_FILE_NAMES])).map(([[orig, p], bad]) => {
          const doc = specDoc(spec);
          const profiles = doc.get('profiles') as Map<string, unknown>;
          const renamed = new Map([...profiles].map(([k, v]) => (k === orig ? [bad, p] : [k, v])));
          doc.set('profiles', renamed);
          return { kind: 'bad name', text: render(doc), paths: [`profiles.${bad}`, 'profiles'] };
        }),
        fc.tuple(fc.nat(), pick(BROKEN_LINES)).map(([at, line]) => {
          const lines = yamlText.split('\n');
          const i = 2 + (at % Math.max(1, lines.length - 2));
          lines.splice(i, 0, line);
          return { kind: 'broken YAML', text: lines.join('\n'), paths: [] };
        }),
        fc.nat().map((at) => {
          const text = format === 'json' ? render(specDoc(spec)) : yamlText;
          const start = format === 'json' ? 1 : headLen;
          return {
            kind: 'truncated',
            text: text.slice(0, start + (at % Math.max(1, text.length - start))),
            paths: [],
          };
        }),
        ...when(
          ts.filter((t) => ['port', 'classid', 'priority'].includes(t.kind)),
          (target) =>
            fc.tuple(target, pick(HUGE)).map(([t, v]) => {
              const doc = specDoc(spec);
              setAt(doc, t.path, v);
              return { kind: 'huge number', text: render(doc), paths: [aim(t)] };
            }),
        ),
        fc
          .tuple(
            pick(ts.filter((t) => t.kind === 'ifname' || t.kind === 'owner' || t.kind === 'profile')),
            fc.nat(),
          )
          .map(([t, i]) => {
            const doc = specDoc(spec);
            if (t.kind === 'profile') {
              const renamed = new Map(
                [...(doc.get('profiles') as Map<string, unknown>)].map(([k, v]) =>
                  k === t.path[1] ? [`prøfile${i % 7}`, v] : [k, v],
                ),
              );
              doc.set('profiles', renamed);
              return { kind: 'unicode', text: render(doc), paths: [`profiles.prøfile${i % 7}`] };
            }
            const values = t.kind === 'ifname' ? UNICODE_IFNAMES : UNICODE_OWNERS;
            setAt(doc, t.path, values[i % values.length]);
            // A unicode interface name of <= 15 bytes is valid text: the failure is the kernel's ENODEV, which names the profile and route.via.
            return { kind: 'unicode', text: render(doc), paths: [aim(t)] };
          }),
        fc
          .tuple(
            pick(ts.filter((t) => t.kind !== 'profiles' && t.kind !== 'table-name')),
            fc.integer({ min: 20, max: 3000 }),
            fc.boolean(),
          )
          .map(([t, depth, map]) => {
            const doc = specDoc(spec);
            setAt(doc, t.path, nested(depth, map));
            return { kind: 'deep nesting', text: render(doc), paths: [aim(t)] };
          }),
      ];
      return fc.oneof(...mutations);
    });
}
