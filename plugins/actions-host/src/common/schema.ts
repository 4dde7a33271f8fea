import { z } from 'zod';
import { NAME_PATTERN } from './validate.js';

const nameMessage = "may only contain letters, digits, '_', '.', '-' and must start with a letter or digit";

/** A network namespace every command of the instance runs in (`ip netns exec NAME`); absent = this host. */
export const netnsOption = z.string().max(64).regex(NAME_PATTERN, nameMessage).optional();
export const interfaceOption = z.string().max(15).regex(NAME_PATTERN, nameMessage);
