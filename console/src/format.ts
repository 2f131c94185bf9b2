export const credits = (n: number | null | undefined) => (n == null ? '-' : `${n.toLocaleString('en')} credit${n === 1 ? '' : 's'}`);
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '-');
export const bytes = (n: number) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KB` : `${(n / (1 << 20)).toFixed(1)} MB`);
export const seconds = (s: number | null | undefined) => (s == null ? '-' : `${Math.round(s * 10) / 10} s`);

/** What a quality verdict rests on: a pass from the signal checks alone says less than a reviewed one. */
export const reviewedBy = (v: { status: 'reviewed' | 'not_configured' | 'unavailable'; provider: string | null }) =>
  v.status === 'reviewed' ? `reviewed by ${v.provider}`
    : v.status === 'unavailable' ? `signal checks only: the vision model ${v.provider} did not answer, so look at the clip yourself or check again later`
      : 'signal checks only (no vision model is configured)';
