// The config's JSON Schema (draft 2020-12), from the zod schema the loader uses,
// as the *input* side: what a user may write (classids as strings, optional keys
// whose defaults the loader fills in). scripts/gen-schema.mjs writes it to
// schema/netcg.schema.json, which the package ships for editors.
import { z } from 'zod';

import { configSchema, PROFILE_NAME_RE } from './schema.js';

type JsonObject = Record<string, unknown>;

export function configJsonSchema(): JsonObject {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as JsonObject;
  // Profile names are checked by the loader (they become cgroup directories), not by
  // the zod record's key type; give editors the same rule.
  const profiles = (schema.properties as JsonObject).profiles as JsonObject;
  profiles.propertyNames = { type: 'string', pattern: PROFILE_NAME_RE.source };
  return { ...schema, title: 'netcg configuration (netcg.yaml, /etc/netcg/config.yaml)' };
}

/** The file's exact text: two-space indent, final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
