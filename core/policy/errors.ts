/** One problem in a policy, located in its source. `line`/`column` are 1-based; 0 when the position is unknown. */
export interface PolicyIssue {
  file: string;
  line: number;
  column: number;
  /** Where in the document, e.g. `escalation[2].do.rtbh.community`; empty for the document itself. */
  path: string;
  message: string;
}

/** Thrown by the loader with every problem found, not only the first. */
export class PolicyError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    super(formatIssues(issues));
    this.name = 'PolicyError';
  }
}

export function formatIssue(i: PolicyIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

export function formatIssues(issues: PolicyIssue[]): string {
  const n = issues.length;
  return `${n} problem${n === 1 ? '' : 's'} in the policy:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`;
}

/** Renders a path as written in docs: `escalation[2].do.rtbh.community`, `speakers["pop 1"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s) ? (out ? `.${s}` : s) : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}
