import {
  ActionSetupFailed,
  AlertSetupFailed,
  ActiveRulesInvalid,
  AddressInvalid,
  CommandFailed,
  FleetConfigInvalid,
  FleetUnavailable,
  IncidentInvalid,
  PolicyInvalid,
  StateCorrupt,
  StateLocked,
  UsageError,
  toFtError,
  type FtError,
} from '@ft/sdk';
import { formatIssue, type PolicyIssue } from '../policy/errors.js';

/**
 * ft's own error classes as registered errors, recognised by class name so that mapping one never imports the
 * module that declares it (commands keep their heavy imports inside run()).
 */
export function cliError(err: unknown): FtError {
  const e = err as Error & Record<string, unknown>;
  const cls = typeof e === 'object' && e !== null ? e.constructor?.name : undefined;
  const message = (e as Error)?.message ?? String(err);
  switch (cls) {
    case 'PolicyError': {
      const issues = (e.issues as PolicyIssue[] | undefined) ?? [];
      const first = issues[0];
      const where = first
        ? `${first.line > 0 ? `${first.file}:${first.line}:${first.column}` : first.file}${first.path ? ` ${first.path}` : ''}`
        : undefined;
      return new PolicyInvalid(
        { file: first?.file ?? 'policy', count: issues.length },
        { ...(where ? { where } : {}), details: issues },
      );
    }
    case 'InputError': {
      const problems = (e.problems as string[] | undefined) ?? [message];
      const Def = e.what === 'active' ? ActiveRulesInvalid : IncidentInvalid;
      const summary = problems.length === 1 ? (problems[0] as string) : `${problems.length} problems`;
      return new Def(
        { source: String(e.source), summary },
        { where: String(e.source), ...(problems.length > 1 ? { details: problems } : {}) },
      );
    }
    case 'StateDirError':
      return new StateLocked({ message });
    case 'JournalCorruptError':
      return new StateCorrupt({ message });
    case 'RedisUrlError':
    case 'FleetNameError':
      return new FleetConfigInvalid({ message });
    case 'FleetReadError':
      return new FleetUnavailable({ message });
    case 'MetricsAddressError':
    case 'PrefixError':
      return new AddressInvalid({ message });
    case 'UnitError':
      return new UsageError({ message });
    case 'ActionSetupError':
      return new ActionSetupFailed({ message });
    case 'AlertSetupError':
      return new AlertSetupFailed({ message });
    case 'ManualError':
      return new CommandFailed({ message });
    default:
      return toFtError(err);
  }
}

/** One line per detail of an error, as the text output lists them (a policy's problems). */
export function formatDetail(d: unknown): string | undefined {
  if (typeof d === 'string') return `  ${d}`;
  const i = d as PolicyIssue;
  if (i && typeof i === 'object' && typeof i.file === 'string' && typeof i.message === 'string') return formatIssue(i);
  return undefined;
}
