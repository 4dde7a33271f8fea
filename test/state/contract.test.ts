import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalStore } from '../../core/state/journal-store.js';
import { describeRuleStoreContract } from './contract.js';

describeRuleStoreContract('embedded journal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ft-contract-'));
  return { store: await JournalStore.open({ dir }), reopen: () => JournalStore.open({ dir }) };
});
