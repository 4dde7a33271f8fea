#!/usr/bin/env node
// Regenerates docs/errors.md from the error registry (core/sdk/src/errors.ts). test/cli/errors-doc.test.ts fails
// when the checked-in page differs from what this writes. Run: node --import tsx scripts/gen-errors-doc.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderErrorsDoc } = await import(join(root, 'core', 'cli', 'errors-doc.ts'));
const out = join(root, 'docs', 'errors.md');
writeFileSync(out, renderErrorsDoc());
console.log(`wrote ${out}`);
