import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
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

describe('every command reports errors through the registry', () => {
  it('extends FtCommand or overrides catch with reportCommandError (one exit code with and without --json)', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) files.push(path);
      }
    };
    walk(join(ROOT, 'core', 'commands'));
    for (const plugin of readdirSync(join(ROOT, 'plugins'))) {
      const dir = join(ROOT, 'plugins', plugin, 'src', 'commands');
      if (
        statSync(join(ROOT, 'plugins', plugin)).isDirectory() &&
        readdirSync(join(ROOT, 'plugins', plugin)).includes('src')
      )
        if (readdirSync(join(ROOT, 'plugins', plugin, 'src')).includes('commands')) walk(dir);
    }
    expect(files.length).to.be.greaterThan(20);
    const bad = files.filter((f) => {
      const text = readFileSync(f, 'utf8');
      return /extends Command\b/.test(text) && !/reportCommandError\(this, err\)/.test(text);
    });
    expect(bad.map((f) => f.slice(ROOT.length + 1))).to.deep.equal([]);
  });
});
