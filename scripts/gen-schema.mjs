#!/usr/bin/env node
// Writes schema/netcg.schema.json: the config's JSON Schema, generated from the
// same zod schema the loader uses (src/config/schema.ts, via the tsc build), so
// editors validate and complete netcg.yaml exactly as `netcg apply` checks it
// (cross-field rules such as duplicate classids stay the loader's).
// Run after `npm run build:ts`: node scripts/gen-schema.mjs [--check]
import { readFileSync, writeFileSync } from 'node:fs';

import { configJsonSchemaText } from '../dist/config/json-schema.js';

const file = new URL('../schema/netcg.schema.json', import.meta.url);
const text = configJsonSchemaText();
if (process.argv.includes('--check')) {
  if (readFileSync(file, 'utf8') !== text) {
    console.error('schema/netcg.schema.json is stale: run node scripts/gen-schema.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
}
