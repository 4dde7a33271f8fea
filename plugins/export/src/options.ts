import { z } from 'zod';

/** A credential as the policy names it: an environment variable name, never the value. */
export const envName = (what: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'name the environment variable that holds it (tokens and keys are secrets: never write them in the policy)',
    )
    .describe(`Name of the environment variable holding ${what}.`);

/** A file path option (certificates, output files): absolute, so a service's working directory does not matter. */
export const absolutePath = (what: string) =>
  z
    .string()
    .refine((p) => p.startsWith('/'), 'must be an absolute path')
    .describe(what);

/** The version string every record carries as its producer's version (CEF Device Version, ECS agent.version). */
export const FT_VERSION = '0.1.0';
