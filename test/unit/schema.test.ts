// schema/netcg.schema.json: generated from the loader's zod schema, current, and
// it accepts what the loader accepts (examples/seed.yaml) and refuses what it
// refuses. No JSON Schema library is a dependency, so a small validator for the
// keywords the generated schema uses is below; it fails loudly on any other keyword.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';

import { configSchema, parseConfig } from '../../src/config/index.js';
import { configJsonSchemaText } from '../../src/config/json-schema.js';

type Schema = Record<string, unknown>;
const SCHEMA = JSON.parse(readFileSync('schema/netcg.schema.json', 'utf8')) as Schema;
const KNOWN = new Set([
  '$schema',
  'title',
  'description',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'enum',
  'const',
  'pattern',
  'minimum',
  'maximum',
  'anyOf',
]);

function typeOk(type: string, v: unknown): boolean {
  if (type === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  if (type === 'integer') return Number.isInteger(v);
  if (type === 'null') return v === null;
  return typeof v === type;
}

/** Problems of `v` against `s`, as "path: problem" strings. */
function validate(s: Schema, v: unknown, path = '$'): string[] {
  for (const k of Object.keys(s))
    if (!KNOWN.has(k)) throw new Error(`${path}: the test validator does not know keyword ${k}`);
  const errs: string[] = [];
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeOk(t, v))) return [`${path}: not ${types.join('|')}`];
  }
  if (s.enum && !(s.enum as unknown[]).includes(v))
    errs.push(`${path}: not one of ${JSON.stringify(s.enum)}`);
  if ('const' in s && s.const !== v) errs.push(`${path}: not ${JSON.stringify(s.const)}`);
  if (typeof v === 'string' && s.pattern && !new RegExp(s.pattern as string, 'u').test(v))
    errs.push(`${path}: does not match ${s.pattern}`);
  if (typeof v === 'number' && s.minimum !== undefined && v < (s.minimum as number))
    errs.push(`${path}: below ${s.minimum}`);
  if (typeof v === 'number' && s.maximum !== undefined && v > (s.maximum as number))
    errs.push(`${path}: above ${s.maximum}`);
  if (s.anyOf && !(s.anyOf as Schema[]).some((alt) => validate(alt, v, path).length === 0))
    errs.push(`${path}: matches no alternative`);
  if (typeOk('object', v)) {
    const obj = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in obj)) errs.push(`${path}: missing ${r}`);
    for (const [k, val] of Object.entries(obj)) {
      if (s.propertyNames) errs.push(...validate(s.propertyNames as Schema, k, `${path}[key ${k}]`));
      if (props[k]) errs.push(...validate(props[k]!, val, `${path}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${path}: unknown key ${k}`);
      else if (typeof s.additionalProperties === 'object')
        errs.push(...validate(s.additionalProperties as Schema, val, `${path}.${k}`));
    }
  }
  return errs;
}

const seed = () => parse(readFileSync('examples/seed.yaml', 'utf8')) as Record<string, any>;

describe('schema/netcg.schema.json', () => {
  it("is current: equal to what the loader's zod schema generates (node scripts/gen-schema.mjs)", () => {
    expect(readFileSync('schema/netcg.schema.json', 'utf8')).toBe(configJsonSchemaText());
    expect(SCHEMA.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('is shipped in the npm package', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schema');
  });

  it('names every key the loader accepts, and refuses unknown keys at every level', () => {
    // Walk the zod objects and the JSON Schema side by side.
    const walk = (zs: z.ZodType, js: Schema, path: string): void => {
      const shape = (zs as unknown as { shape?: Record<string, z.ZodType> }).shape;
      if (!shape) return;
      expect(js.additionalProperties, path).toBe(false);
      const props = js.properties as Record<string, Schema>;
      expect(Object.keys(props).sort(), path).toEqual(Object.keys(shape).sort());
      for (const [k, child] of Object.entries(shape)) {
        const inner = child instanceof z.ZodOptional ? (child.unwrap() as z.ZodType) : child;
        walk(inner, props[k]!, `${path}.${k}`);
      }
    };
    walk(configSchema, SCHEMA, '$');
    const profile = (SCHEMA.properties as Record<string, Schema>).profiles!.additionalProperties as Schema;
    expect(Object.keys(profile.properties as object)).toEqual(
      expect.arrayContaining(['classid', 'dns', 'ipv6', 'match', 'owner', 'route']),
    );
    const route = (profile.properties as Record<string, Schema>).route!;
    expect(route.required).toEqual(['via']);
  });

  it('accepts examples/seed.yaml, as the loader does', () => {
    expect(validate(SCHEMA, seed())).toEqual([]);
    expect(() => parseConfig(readFileSync('examples/seed.yaml', 'utf8'), 'seed.yaml')).not.toThrow();
  });

  it.each([
    ['an unknown top-level key', (c: any) => ({ ...c, tabel: 'x' }), '$: unknown key tabel'],
    [
      'a misspelt profile key',
      (c: any) => ({ ...c, profiles: { ...c.profiles, vpn: { ...c.profiles.vpn, rout: {} } } }),
      'unknown key rout',
    ],
    [
      'a port out of range',
      (c: any) => ({
        ...c,
        profiles: { ...c.profiles, unlocator: { ...c.profiles.unlocator, dns: { redirect: 70000 } } },
      }),
      'redirect: above 65535',
    ],
    [
      'ipv6 other than reject',
      (c: any) => ({
        ...c,
        profiles: { ...c.profiles, unlocator: { ...c.profiles.unlocator, ipv6: 'allow' } },
      }),
      'ipv6',
    ],
    [
      'a route without via',
      (c: any) => ({ ...c, profiles: { ...c.profiles, vpn: { classid: 43, route: { table: 43 } } } }),
      'missing via',
    ],
    [
      'a profile name with a slash',
      (c: any) => ({ ...c, profiles: { 'a/b': { classid: 1, ipv6: 'reject' } } }),
      'key a/b',
    ],
    ['a bad table name', (c: any) => ({ ...c, table: '1table' }), '$.table: does not match'],
    [
      'a bad match',
      (c: any) => ({ ...c, profiles: { x: { match: 'v3', ipv6: 'reject' } } }),
      '$.profiles.x.match: not one of',
    ],
  ])('rejects %s, as the loader does', (_what, mutate, problem) => {
    const bad = mutate(seed());
    expect(validate(SCHEMA, bad).join('\n')).toContain(problem);
    expect(() => parseConfig(JSON.stringify(bad), 'bad.yaml')).toThrow();
  });
});
