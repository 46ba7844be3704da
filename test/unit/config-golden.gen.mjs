// Writes test/unit/config-golden.json: config texts and what a given loader made of
// them (the Config, or every issue with FILE:LINE:COL, key path and message).
// The committed file was produced by the loader as it was before the fast path
// (commit cb5a4bd, src/config compiled with tsc) so that config-golden.test.ts
// proves the current loader behaves identically:
//
//   npx tsc -p tsconfig.build.json --outDir /tmp/orig
//   node test/unit/config-golden.gen.mjs /tmp/orig/config/index.js
//
// Do not regenerate it with the current loader unless a change of behaviour is intended.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const loaderPath = process.argv[2];
if (!loaderPath) throw new Error('usage: node test/unit/config-golden.gen.mjs PATH/TO/config/index.js');
const { parseConfig } = await import(pathToFileURL(loaderPath).href);

/** A small deterministic PRNG (mulberry32), so the corpus is the same on every run. */
function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(20261128);
const pick = (list) => list[Math.floor(random() * list.length)];
const chance = (p) => random() < p;

// A leaf is written differently in YAML and JSON: { yaml, json }.
const v = (yaml, json = yaml) => ({ yaml, json });
const OMIT = Symbol('omit');

const NAMES = [
  'unlocator',
  'vpn',
  'p0',
  'p1',
  'ok.name-1',
  'a',
  'b',
  'c',
  'with space',
  '../etc',
  'tasks',
  'net_cls.classid',
  'cgroup.procs',
  'constructor',
  '-x',
  '.x',
  'x'.repeat(70),
  '42-vpn',
  'toString',
];
const CLASSIDS = [
  v('42', 42),
  v('43', 43),
  v('44', 44),
  v('0', 0),
  v('0x2a', 42),
  v('"0x0010002b"', '0x0010002b'),
  v('"44"', '44'),
  v('1.5', 1.5),
  v('-1', -1),
  v('0x100000000', 4294967296),
  v('abc', 'abc'),
  v('255', 255),
  v('0xffffffff', 4294967295),
  v('"10:2a"', '10:2a'),
];
const MATCH = [
  OMIT,
  OMIT,
  OMIT,
  v('auto', 'auto'),
  v('net_cls', 'net_cls'),
  v('cgroupv2', 'cgroupv2'),
  v('bogus', 'bogus'),
];
const OWNER = [OMIT, OMIT, OMIT, v('md', 'md'), v('1000', 1000), v('"bad name"', 'bad name'), v('-1', -1)];
const PORT = [v('5354', 5354), v('0', 0), v('70000', 70000), v('dns', 'dns'), v('53.5', 53.5)];
const IFACES = [
  v('tun0', 'tun0'),
  v('wg0', 'wg0'),
  v('abcdefghijklmnop', 'abcdefghijklmnop'),
  v('"tun/0"', 'tun/0'),
  v('""', ''),
];
const BOOLS = [v('true', true), v('false', false), v('yes', 'yes')];
const TABLES = [v('100', 100), v('254', 254), v('43', 43), v('0', 0), v('45', 45)];

function dns() {
  return pick([
    OMIT,
    OMIT,
    { redirect: pick(PORT) },
    { redirect: pick(PORT), ...(chance(0.2) ? { port: v('1', 1) } : {}) },
    { redirct: v('1', 1) },
    v('str', 'str'),
    v('', null),
  ]);
}
function route() {
  if (chance(0.35)) return OMIT;
  if (chance(0.05)) return v('', null);
  const r = chance(0.05) ? { vai: pick(IFACES) } : chance(0.05) ? {} : { via: pick(IFACES) };
  if (chance(0.25)) r.table = pick(TABLES);
  if (chance(0.15)) r.mark = pick([v('43', 43), v('0', 0), v('0x100', 256)]);
  if (chance(0.15)) r.copyLinkRoutes = pick(BOOLS);
  if (chance(0.1)) r.masquerade = pick(BOOLS);
  if (chance(0.1)) r.failClosed = pick(BOOLS);
  if (chance(0.05)) r.copyLinkRoute = v('true', true);
  return r;
}
function profile() {
  const p = {};
  if (!chance(0.1)) p.classid = pick(CLASSIDS);
  for (const [key, value] of [
    ['match', pick(MATCH)],
    ['owner', pick(OWNER)],
    ['dns', dns()],
    ['ipv6', pick([OMIT, v('reject', 'reject'), v('reject', 'reject'), v('allow', 'allow')])],
    ['route', route()],
  ])
    if (value !== OMIT) p[key] = value;
  if (chance(0.05)) p.clasid = v('1', 1);
  if (chance(0.03)) return pick([v('', null), v('7', 7), v('str', 'str')]);
  return p;
}
function config() {
  const c = {};
  if (chance(0.3)) c.table = pick([v('netcg', 'netcg'), v('"my table"', 'my table'), v('nc_x', 'nc_x')]);
  if (chance(0.2)) c.cgroupParent = pick([v('netcg', 'netcg'), v('/sys/fs', '/sys/fs'), v('a/b', 'a/b')]);
  if (chance(0.2)) c.ipRulePriority = pick([v('20000', 20000), v('32766', 32766), v('0', 0)]);
  if (chance(0.05)) c.tabel = v('x', 'x');
  if (!chance(0.03)) {
    const profiles = {};
    const n = Math.floor(random() * 6);
    for (let i = 0; i < n; i++) profiles[chance(0.7) ? `p${i}` : pick(NAMES)] = profile();
    c.profiles = profiles;
  }
  return c;
}

const isLeaf = (x) => typeof x === 'object' && x !== null && 'yaml' in x;
const yamlKey = (k) => (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) ? k : JSON.stringify(k));
function flow(node) {
  if (isLeaf(node)) return node.yaml === '' ? 'null' : node.yaml;
  return `{ ${Object.entries(node)
    .map(([k, x]) => `${yamlKey(k)}: ${flow(x)}`)
    .join(', ')} }`;
}
function block(node, indent, flowDepth, lines) {
  for (const [k, x] of Object.entries(node)) {
    const pad = ' '.repeat(indent);
    const comment = chance(0.1) ? '   # note' : '';
    if (isLeaf(x)) lines.push(`${pad}${yamlKey(k)}:${x.yaml === '' ? '' : ` ${x.yaml}`}${comment}`);
    else if (indent / 2 >= flowDepth || Object.keys(x).length === 0)
      lines.push(`${pad}${yamlKey(k)}: ${flow(x)}${comment}`);
    else {
      lines.push(`${pad}${yamlKey(k)}:${comment}`);
      if (chance(0.1)) lines.push(`${pad}  # a comment`);
      block(x, indent + 2, flowDepth, lines);
    }
  }
}
function toJson(node) {
  if (isLeaf(node)) return node.json;
  return Object.fromEntries(Object.entries(node).map(([k, x]) => [k, toJson(x)]));
}
/** Breaks a text the way people do: a repeated line, a tab, a lost character, a bad indent. */
function mutate(text) {
  const lines = text.split('\n');
  const i = Math.floor(random() * Math.max(1, lines.length - 1));
  switch (Math.floor(random() * 5)) {
    case 0:
      lines.splice(i, 0, lines[i]);
      break;
    case 1:
      lines[i] = `\t${lines[i]}`;
      break;
    case 2:
      lines[i] = lines[i].slice(0, Math.floor(random() * lines[i].length));
      break;
    case 3:
      lines[i] = ` ${lines[i]}`;
      break;
    default:
      lines[i] = `${lines[i]} }`;
  }
  return lines.join('\n');
}
function render(c) {
  const style = Math.floor(random() * 5);
  let text;
  if (style === 0) text = JSON.stringify(toJson(c));
  else if (style === 1) text = JSON.stringify(toJson(c), null, 2);
  else {
    const lines = chance(0.3) ? ['# netcg config'] : [];
    block(c, 0, style === 2 ? 1 : style === 3 ? 2 : 9, lines);
    text = `${lines.join('\n')}\n`;
  }
  return chance(0.12) ? mutate(text) : text;
}

const handWritten = [
  readFileSync('examples/seed.yaml', 'utf8'),
  '',
  '# only a comment\n',
  '- a\n- b\n',
  'table: netcg\n',
  'profiles: {}\n',
  'profiles:\n',
  'profiles:\n  a:\n    classid: 42\n    classid: 43\n    ipv6: reject\n',
  'profiles:\n  a: { classid: 42, ipv6: reject }\n  a: { classid: 43, ipv6: reject }\n',
  'profiles:\n  a: { classid: 42, ipv6: reject, ipv6: reject }\n  b: { classid: 0, ipv6: reject }\n',
  'profiles:\n  a: { classid: 42, ipv6: reject\n  b: 1\n',
  'profiles:\n  __proto__: { classid: 5, ipv6: reject }\n',
  'profiles:\n  a: { classid: 5, ipv6: reject, __proto__: 1 }\n',
  'profiles:\n  tasks: { classid: 5, ipv6: reject }\n  cgroup.procs: { classid: 6, ipv6: reject }\n',
  'profiles:\n  1: { classid: 5, ipv6: reject }\n  true: { classid: 6, ipv6: reject }\n  null: { classid: 7, ipv6: reject }\n',
  'profiles:\n  v: { match: cgroupv2, route: { via: tun0 } }\n',
  'profiles:\n  v: { match: cgroupv2, route: { via: tun0, table: 100 } }\n  w: { classid: 9, route: { via: tun0 } }\n',
  'profiles:\n  a: &p { classid: 5, ipv6: reject }\n  b: *p\n',
  'profiles:\n  a: !!map { classid: 5, ipv6: reject }\n',
  'profiles:\n  a:\n    classid: |\n      42\n    ipv6: reject\n',
  'profiles:\n  a:\n    classid: 42\n    ipv6: >-\n      reject\n',
  'profiles:\n  a:\n    classid: 42\n    ipv6:\n      reject\n',
  'profiles:\r\n  a:\r\n    classid: 42\r\n    ipv6: reject\r\n',
  '\ufeffprofiles:\n  a: { classid: 42, ipv6: reject }\n',
  '%YAML 1.1\n---\nprofiles:\n  a: { classid: 0o52, ipv6: reject }\n',
  '---\nprofiles:\n  a: { classid: 42, ipv6: reject }\n...\n',
  '---\nprofiles: {}\n---\nprofiles: {}\n',
  'profiles:\n  a: { classid: 42, ipv6: "reject" }\n  "b": { \'classid\': 43, ipv6: \'reject\' }\n',
  'profiles:\n  a: { classid: "\\x2a", ipv6: reject }\n',
  'profiles:\n  a: { classid: 42, ipv6: reject, route: { via: tun0 } }\n  b: { classid: 42, dns: { redirect: 5354 } }\n',
  '{"profiles":{"a":{"classid":42,"ipv6":"reject"},"a":{"classid":43,"ipv6":"reject"}}}',
  '{"profiles":{"a":{"classid":42.0,"ipv6":"reject"}}}',
  '{"profiles":{"a":{"classid":-0,"ipv6":"reject"}}}',
  '{"profiles":{"a":{"classid":1e3,"ipv6":"reject"}}}',
  '{"profiles":{"a":{"classid":42,"ipv6":"rej\\u0065ct"}}}',
  '{\n  "profiles": {\n    "a": { "classid": 0, "ipv6": "reject" }\n  }\n}\n',
  'profiles:\n  a:\n    classid: 42\n    ipv6: reject\n  b:\n   classid: 43\n   ipv6: reject\n',
  'profiles:\n  a:\n    classid: 42\n     ipv6: reject\n',
  'profiles:\n  a:\n    classid: 42 # c\n    ipv6: reject#c\n',
  'profiles:\n  a:\n    classid: 42\n    ipv6: reject\n    # trailing comment\n\n\n',
  'profiles:\n  a:\n    classid: 42\n    ipv6: reject\n        # deeper comment\n  b: { classid: 43, ipv6: reject }\n',
  `profiles:\n${'  x'.repeat(1)}${'y'.repeat(1030)}: { classid: 42, ipv6: reject }\n`,
  'profiles:\n  a: { classid: 42, ipv6: reject, route: { via: tun0, table: 256 } }\n  b: { classid: 43, route: { via: tun0, table: 256 } }\n',
  'profiles:\n  a: { classid: 43, route: { via: tun0 } }\n  b:\n    classid: 44\n    route: { via: wg0, table: 43 }\n  c:\n    classid: 45\n    route: { via: wg1, mark: 43, table: 45 }\n',
  'profiles:\n  a: { classid: 43, route: { via: tun0, masquerade: false } }\n  b: { classid: 44, route: { via: tun0 } }\n',
  'table: a\ntable: b\nprofiles:\n  a: { classid: 1, ipv6: reject }\n  b: { classid: 2, ipv6: reject, ipv6: reject }\n  a: { classid: 3, ipv6: reject }\n',
  'profiles:\n  a:\n    classid:\n    classid: 4\n    ipv6: reject\n',
  'profiles:\n  a:\n    route:\n      via:\n    route: {}\n    classid: 4\n',
  'profiles:\n  a: { classid: 1, ipv6: reject }\n  a: { classid: 2, ipv6: reject\n',
  'profiles:\n  : { classid: 1, ipv6: reject }\n  : { classid: 2, ipv6: reject }\n',
  'profiles:\n  1: { classid: 1, ipv6: reject }\n  "1": { classid: 2, ipv6: reject }\n  0x1: { classid: 3, ipv6: reject }\n',
  '{"profiles":{"a":{"classid":1,"ipv6":"reject","classid":2}},"profiles":{}}',
  'tabel: x\nprofiles:\n  "bad/name": { classid: 42, ipv6: reject }\n  b:\n    classid: 42\n    dns: { redirect: 99999 }\n  c:\n    classid: 0\n    route: {}\n',
];

/** Mostly valid configs (the fast path's case), now and then with one mistake. */
function validConfig() {
  const c = {};
  if (chance(0.3)) c.table = v('netcg', 'netcg');
  if (chance(0.3)) c.cgroupParent = pick([v('netcg', 'netcg'), v('a/b', 'a/b')]);
  if (chance(0.3)) c.ipRulePriority = v('20000', 20000);
  const profiles = {};
  const n = 1 + Math.floor(random() * 8);
  for (let i = 0; i < n; i++) {
    const p = {
      classid: chance(0.5)
        ? v(String(100 + i), 100 + i)
        : v(`0x${(0x100000 + i).toString(16)}`, 0x100000 + i),
    };
    if (chance(0.2)) p.match = pick([v('auto', 'auto'), v('net_cls', 'net_cls')]);
    if (chance(0.2)) p.owner = pick([v('md', 'md'), v('1000', 1000)]);
    if (chance(0.6)) p.dns = { redirect: v('5354', 5354) };
    if (chance(0.5)) p.ipv6 = v('reject', 'reject');
    if ((!p.dns && !p.ipv6) || chance(0.5)) {
      p.route = { via: pick([v('tun0', 'tun0'), v('wg0', 'wg0')]) };
      if (chance(0.2)) p.route.copyLinkRoutes = v('true', true);
    }
    profiles[chance(0.9) ? `p${i}` : pick(['unlocator', 'vpn', 'ok.name-1', 'constructor', '42-vpn']) + i] =
      p;
  }
  c.profiles = profiles;
  if (chance(0.25)) {
    const victim = pick(Object.values(profiles));
    const [key, value] = pick([
      ['classid', pick(CLASSIDS)],
      ['dns', dns()],
      ['route', route()],
      ['clasid', v('1', 1)],
      ['owner', pick(OWNER)],
    ]);
    if (value !== OMIT) victim[key] = value;
  }
  return c;
}

const texts = [...handWritten];
for (let i = 0; i < 150; i++) texts.push(render(config()));
for (let i = 0; i < 200; i++) texts.push(render(validConfig()));

function outcome(text) {
  try {
    return { config: parseConfig(text, 'netcg.yaml') };
  } catch (err) {
    if (err?.name === 'ConfigError') return { issues: err.issues, message: err.message };
    return { thrown: `${err?.name}: ${err?.message}` };
  }
}
const cases = texts.map((text) => ({ text, ...outcome(text) }));
writeFileSync('test/unit/config-golden.json', `[\n${cases.map((c) => JSON.stringify(c)).join(',\n')}\n]\n`);
const failing = cases.filter((c) => !c.config).length;
console.log(
  `wrote ${cases.length} cases (${cases.length - failing} valid, ${failing} with issues) to test/unit/config-golden.json`,
);
