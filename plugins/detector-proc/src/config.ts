import { Prefix } from '@ft/sdk';
import { z } from 'zod';
import { isInterfaceName } from './parse.js';

const interfaceName = z
  .string()
  .refine(isInterfaceName, { message: 'not a Linux interface name (1-15 characters, no "/", ":" or spaces)' });

const address = z.string().refine(
  (a) => {
    if (a === 'auto' || a === 'none') return true;
    try {
      Prefix.parse(a);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IP address or prefix (e.g. 203.0.113.10 or 2001:db8::10), nor "auto" or "none"' },
);

/**
 * Options of a `proc` detector instance. `address` maps what an interface carries to the protected address
 * mitigation would target; without one the target is "if:NAME" (shown and watched, but no incident is opened,
 * because an incident must name an address).
 */
export const procConfigSchema = z
  .object({
    /** Where procfs is: "/proc" for this host's namespace, "/proc/PID" for the namespace process PID lives in. */
    procRoot: z
      .string()
      .regex(/^\/[^\0]*$/, 'must be an absolute path')
      .default('/proc'),
    /** "auto" = every interface but lo (new ones are picked up as they appear), or a list. */
    interfaces: z
      .union([
        z.literal('auto'),
        z
          .array(z.union([interfaceName, z.object({ name: interfaceName, address: address.optional() }).strict()]))
          .min(1),
      ])
      .default('auto'),
    /**
     * Protected address for every watched interface without its own. "auto" (the default when reading this host's
     * own /proc): the interface's only address. "none": report interfaces as if:NAME (watched, no incidents).
     */
    address: address.optional(),
    /** in: receive counters; out: transmit counters too (shown, not used for detection). */
    direction: z.enum(['in', 'both']).default('in'),
    tickMs: z.number().int().min(20).max(10_000).default(100),
  })
  .strict()
  .superRefine((c, ctx) => {
    const own = isOwnProcRoot(c.procRoot);
    const usesAuto =
      c.address === 'auto' ||
      (Array.isArray(c.interfaces) && c.interfaces.some((i) => typeof i === 'object' && i.address === 'auto'));
    if (usesAuto && !own) {
      ctx.addIssue({
        code: 'custom',
        path: ['address'],
        message: `"auto" reads this namespace's addresses; with procRoot ${c.procRoot} name the address instead`,
      });
    }
  });

export type ProcConfig = z.output<typeof procConfigSchema>;

/** procRoot is this process's own network namespace (so os.networkInterfaces() describes the same interfaces). */
export function isOwnProcRoot(procRoot: string): boolean {
  return /^\/proc(\/self)?\/*$/.test(procRoot);
}
export type ProcConfigInput = z.input<typeof procConfigSchema>;
