#!/usr/bin/env node
// Regenerates policies/policy.schema.json from the zod schema (core/policy/schema.ts). test/policy/schema-file.test.ts
// fails when the checked-in file differs from what this writes. Run: node --import tsx scripts/gen-policy-schema.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { policyJsonSchema } = await import(join(root, 'core', 'policy', 'schema.ts'));
const out = join(root, 'policies', 'policy.schema.json');
writeFileSync(out, `${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
