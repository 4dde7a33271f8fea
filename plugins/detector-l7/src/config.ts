import { Prefix } from '@ft/sdk';
import { z } from 'zod';
import { FORMAT_NAMES } from './formats.js';
import { compileNginxFormat, FormatError } from './template.js';
import { siteName } from './record.js';

const address = z.string().refine(
  (a) => {
    try {
      Prefix.parse(a);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IP address or prefix (e.g. 203.0.113.10 or 2001:db8::10)' },
);

const nginxFormat = z
  .object({ nginx: z.string() })
  .strict()
  .superRefine((f, ctx) => {
    try {
      compileNginxFormat(f.nginx);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['nginx'], message: err.message });
    }
  });

const FORMAT_HELP = `expected auto, ${FORMAT_NAMES.join(', ')}, or { nginx: "<log_format text>" }`;
const format = z.union([z.enum(['auto', ...FORMAT_NAMES], { error: () => FORMAT_HELP }), nginxFormat], {
  error: () => FORMAT_HELP,
});

const site = z.string().refine((s) => siteName(s) === s, { message: 'not a site name (lower-case DNS name, no port)' });

const path = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((p) => !/[*?]/.test(p.slice(0, p.lastIndexOf('/'))), {
    message: 'wildcards (* ?) are only allowed in the file name, not in directories',
  });

/**
 * Options of an `l7` detector instance. Each file (or glob) may name its format and the site its lines are for;
 * formats that carry the vhost (Apache vhost_combined, Caddy, an nginx log_format with $host, HAProxy's
 * frontend) name the site themselves.
 */
export const l7ConfigSchema = z
  .object({
    files: z
      .array(z.union([path, z.object({ path, format: format.optional(), site: site.optional() }).strict()]))
      .min(1),
    /** Default format of every file that names none. "auto" tries the known ones on the first lines and logs its pick. */
    format: format.default('auto'),
    /** Site → the address mitigation would protect; a site without one is watched but opens no incident. */
    sites: z.record(site, address).default({}),
    /** Site of lines whose format names none and whose file has no `site`. */
    defaultSite: site.default('default'),
    /** end: only new lines (the default); beginning: also what the files already hold (older lines do not feed detection). */
    startAt: z.enum(['end', 'beginning']).default('end'),
    windowMs: z.number().int().min(1000).max(60_000).multipleOf(1000).default(1000),
    pollMs: z.number().int().min(20).max(5000).default(100),
    /** How long after a window ends lines with its time stamps may still arrive (slow requests, log buffering). */
    graceMs: z.number().int().min(0).max(30_000).default(500),
    topN: z.number().int().min(1).max(100).default(10),
    /** Sites beyond this many in one window (hostile Host headers) are counted together as "other". */
    maxSites: z.number().int().min(1).max(10_000).default(100),
    maxLineBytes: z
      .number()
      .int()
      .min(256)
      .max(1 << 20)
      .default(16_384),
  })
  .strict();

export type L7Config = z.output<typeof l7ConfigSchema>;
export type L7ConfigInput = z.input<typeof l7ConfigSchema>;
