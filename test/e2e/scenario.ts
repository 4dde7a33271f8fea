// A lab scenario run once for a describe block: `ft lab up`, `ft lab scenario NAME --json` in `before`, `ft lab
// down` in `after` (always, also when the scenario failed half-way), and lookups into its steps and timeline.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFt } from '../helpers/cli.js';
import { requireLab } from '../helpers/env.js';

export interface Outcome {
  ok: boolean;
  steps: { step: string; ok: boolean; detail?: string }[];
  timeline: { event: string; at: string; sinceAttackMs?: number; source?: string }[];
}

export interface ScenarioRun {
  readonly outcome: Outcome | undefined;
  /** The scenario's stderr: what it printed when an expectation failed. */
  readonly stderr: string;
  /** The step whose text matches (the test fails, naming the output, when there is none). */
  step(re: RegExp): Outcome['steps'][number];
  /** When the timeline event happened (ms since the epoch); the test fails when it is missing. */
  at(event: string): number;
}

export function labScenario(o: {
  name: string;
  labPrefix: string;
  env: Record<string, string>;
  commands: string[];
}): ScenarioRun {
  const home = mkdtempSync(join(tmpdir(), `ft-e2e-${o.name}-`));
  const env = { FT_LAB_PREFIX: o.labPrefix, FT_LAB_DIR: join(home, 'lab'), ...o.env };
  let outcome: Outcome | undefined;
  let stderr = '';

  before(async function () {
    requireLab(this, { root: true, commands: o.commands });
    const up = await runFt(['lab', 'up', '--json'], env);
    expect(up.code, up.stderr).to.equal(0);
    const scenario = await runFt(['lab', 'scenario', o.name, '--json'], env);
    stderr = scenario.stderr;
    outcome = JSON.parse(scenario.stdout) as Outcome;
  });

  after(async () => {
    await runFt(['lab', 'down'], env);
    rmSync(home, { recursive: true, force: true });
  });

  return {
    get outcome() {
      return outcome;
    },
    get stderr() {
      return stderr;
    },
    step(re) {
      const s = outcome?.steps.find((x) => re.test(x.step));
      expect(s, `no step matching ${re} in\n${stderr}`).to.not.equal(undefined);
      return s!;
    },
    at(event) {
      const t = outcome?.timeline.find((x) => x.event === event);
      expect(t, `timeline has no "${event}": ${JSON.stringify(outcome?.timeline)}`).to.not.equal(undefined);
      return Date.parse(t!.at);
    },
  };
}
