/** Small statistics helpers for the bench reports. */

export function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
}

/** The middle half of per-round figures: how far apart rounds fall, beyond the median. */
export function quartiles(xs: number[]): string {
  const v = [...xs].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
  return `${at(0.25).toFixed(2)}..${at(0.75).toFixed(2)}`;
}

/** The value at quantile p of sorted values (NaN when there are none). */
export const quantile = (v: Float64Array, p: number): number => (v.length ? v[Math.min(v.length - 1, Math.floor(v.length * p))]! : NaN);
