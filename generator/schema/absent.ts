/**
 * The absent marker: how a property hidden in one direction is written in that direction's view
 * (generator/ir-direction.ts): `{ readOnly: true, not: {} }` in a request, `{ writeOnly: true,
 * not: {} }` in a response. JSON Schema reads it as "no value is valid here", so the property
 * must be left out; the backends spell it as such (TS `?: never`, a zod refusal naming why).
 */
export function isAbsentMarker(s: unknown): boolean {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
  const o = s as { [key: string]: unknown };
  if (o.readOnly !== true && o.writeOnly !== true) return false;
  const not = o.not;
  return not === true || (typeof not === 'object' && not !== null && !Array.isArray(not) && Object.keys(not).length === 0);
}
