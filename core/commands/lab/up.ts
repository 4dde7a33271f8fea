import { FtCommand } from '../../cli/command.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export default class LabUp extends FtCommand {
  static override summary =
    'Build the namespace lab: ctl, edge-linux (gobgpd + FlowSpec enforcer), attacker, victim (nginx).';
  static override description =
    'Needs root and the packages of lab/setup. Removes a previous lab first, so running it twice is safe. Addresses ' +
    'are documentation ranges only and no namespace gets a default route. State lives in /tmp/ft-lab (FT_LAB_DIR).';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> lab up', '<%= config.bin %> lab up --json'];

  async run(): Promise<Record<string, unknown>> {
    await this.parse(LabUp);
    const { code, result } = await runLab(this.config.root, ['up']);
    if (code !== 0 || !result)
      this.error('lab up failed (see the messages above); `ft lab down` removes what was built', { exit: 1 });
    if (!this.jsonEnabled())
      this.log(`lab is up: ${(result.namespaces as string[]).join(', ')}; ft's speaker: ${String(result.ctlApi)}`);
    return result;
  }
}

/**
 * Runs lab/ns/main.ts (TypeScript, through tsx) from the ft checkout: the lab is a development tool that ships
 * with the repository, not with the npm package. Progress goes to our stderr; the JSON result is returned.
 */
export function runLab(
  root: string,
  args: string[],
): Promise<{ code: number; result: Record<string, unknown> | undefined }> {
  const script = join(root, 'lab', 'ns', 'main.ts');
  if (!existsSync(script) || !existsSync(join(root, 'node_modules', 'tsx'))) {
    throw new Error(
      `the namespace lab needs an ft source checkout with dev dependencies (missing ${script} or tsx); run it from the repository`,
    );
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', script, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let result: Record<string, unknown> | undefined;
      try {
        result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        result = undefined;
      }
      resolve({ code: code ?? 1, result });
    });
  });
}
