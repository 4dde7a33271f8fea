#!/usr/bin/env node
// Regenerates the event catalogue in docs/events.md from the event schemas (core/sdk/src/events/schema.ts).
// test/events/docs.test.ts fails when the checked-in page differs. Run: node --import tsx scripts/gen-events-doc.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { withCatalogue } = await import(join(root, 'core', 'events', 'docs.ts'));
const file = join(root, 'docs', 'events.md');
writeFileSync(file, withCatalogue(readFileSync(file, 'utf8')));
console.log(`wrote ${file}`);
