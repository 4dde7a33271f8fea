import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES } from '@ft/sdk';
import { withCatalogue, eventsJsonSchema } from '../../core/events/docs.js';
import { ROOT } from '../helpers/cli.js';

describe('docs/events.md', () => {
  const page = readFileSync(join(ROOT, 'docs', 'events.md'), 'utf8');

  it('lists every event type and field as the schemas define them today (run `node --import tsx scripts/gen-events-doc.mjs` when this fails)', () => {
    expect(withCatalogue(page)).to.equal(page);
    for (const t of EVENT_TYPES) expect(page, t).to.include(`#### \`${t}\``);
  });

  it('the JSON Schema names the shared structures once (what the API turns into OpenAPI components)', () => {
    const { $defs } = eventsJsonSchema();
    expect(Object.keys($defs)).to.include.members([
      'Incident',
      'Rule',
      'AdapterResult',
      'RpkiVerdict',
      'Reason',
      'RenderedCommand',
    ]);
    expect(Object.keys($defs).filter((k) => k.startsWith('event.')).length).to.equal(EVENT_TYPES.length);
  });
});
