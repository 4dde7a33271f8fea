import { Command } from '@oclif/core';
import { reportCommandError } from '@ft/sdk';
import { cliError, formatDetail } from './errors.js';

/**
 * The base of every core ft command: an error becomes its registered code (FT_E_…) with the same exit code with
 * and without `--json`; `--json` prints `{"error":{"code","message","where"}}` on stdout and nothing of the CLI
 * framework's internals; text prints the error's details (a policy's problems) and `Error FT_E_…: message`.
 */
export abstract class FtCommand extends Command {
  override async catch(err: Error): Promise<void> {
    return reportCommandError(this, err, { map: cliError, formatDetail });
  }
}
