import type { RenderedCommand } from '@ft/sdk';
import type { HostExec } from './exec.js';

/** One command as preview prints it and apply runs it: argv, plus the batch it reads on stdin when there is one. */
export function argvCommand(
  kind: string,
  exec: HostExec,
  argv: string[],
  stdin?: string,
  format: RenderedCommand['format'] = 'argv',
): RenderedCommand {
  const full = exec.wrap(argv);
  const text =
    stdin === undefined ? full.join(' ') : `${full.join(' ')} <<'EOF'\n${stdin}${stdin.endsWith('\n') ? '' : '\n'}EOF`;
  return stdin === undefined
    ? { adapter: kind, format, text, argv: full }
    : { adapter: kind, format, text, argv: full, payload: stdin };
}
