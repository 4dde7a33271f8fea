import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorDefinitions } from '@ft/sdk';
import { renderErrorsDoc } from '../../core/cli/errors-doc.js';
import { ROOT } from '../helpers/cli.js';

describe('docs/errors.md and the error registry', () => {
  it('is what the registry generates today (run `node --import tsx scripts/gen-errors-doc.mjs` when this fails)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8')).to.equal(renderErrorsDoc());
  });

  it('every code is FT_E_ + capitals, exits 1 or 2, has an HTTP error status and a meaning', () => {
    const defs = errorDefinitions();
    expect(defs.length).to.be.greaterThan(10);
    for (const d of defs) {
      expect(d.code).to.match(/^FT_E_[A-Z][A-Z_]*$/);
      expect([1, 2]).to.include(d.exitCode);
      expect(d.httpStatus).to.be.within(400, 599);
      expect(d.doc.length, d.code).to.be.greaterThan(20);
    }
  });
});
