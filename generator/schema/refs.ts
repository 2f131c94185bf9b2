/** Component-schema references, the only $refs the IR keeps. */
import { pointerEscape, pointerUnescape } from '../names.js';

export const SCHEMA_REF_PREFIX = '#/components/schemas/';

/** `#/components/schemas/simple-user` -> `simple-user`; null for any other ref. */
export function schemaRefName(ref: string): string | null {
  if (!ref.startsWith(SCHEMA_REF_PREFIX)) return null;
  const rest = ref.slice(SCHEMA_REF_PREFIX.length);
  if (rest.includes('/')) return null;
  return pointerUnescape(rest);
}

export function schemaRef(name: string): string {
  return SCHEMA_REF_PREFIX + pointerEscape(name);
}
