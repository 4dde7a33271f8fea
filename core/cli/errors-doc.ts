import { errorDefinitions, type ErrorDefinition } from '@ft/sdk';

/**
 * docs/errors.md, generated from the error registry (@ft/sdk errors.ts) by scripts/gen-errors-doc.mjs; a test fails
 * when the checked-in page differs from this.
 */
export function renderErrorsDoc(defs: readonly ErrorDefinition[] = errorDefinitions()): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = defs.map(
    (d) => `| \`${d.code}\` | ${d.exitCode} | ${d.httpStatus} | ${esc(d.template)} | ${esc(d.doc)} |`,
  );
  return `# Errors

<!-- Generated from core/sdk/src/errors.ts by \`node --import tsx scripts/gen-errors-doc.mjs\`: do not edit by hand. -->

Every error ft reports has a stable code. Match on the code, never on the message text: messages say what is
wrong in words and may improve, codes do not change.

- **Exit code**: what a command exits with when it stops on the error, the same with and without \`--json\`.
  2 means the input is wrong (a flag, a file, what is in it): fix the command line. 1 means the operation failed or
  found problems.
- **\`--json\`**: the error is one JSON document on stdout, \`{"error":{"code","message","where"}}\` (\`where\` when the
  error has a place: a file, \`file:line:column path\`, a flag; \`details\` when there is more, e.g. every problem of
  a policy). Without \`--json\`, details go to stderr one per line, then \`Error FT_E_…: message\`.
- **HTTP**: the status the REST API answers with for the same error (problem-details bodies carry the same code).
- \`ft policy validate --json\` reports an invalid policy as its result (\`valid: false\`, \`issues\`) and also carries
  \`error\` with FT_E_POLICY_INVALID; it exits 1.

| code | exit | HTTP | message | meaning |
|---|---|---|---|---|
${rows.join('\n')}
`;
}
