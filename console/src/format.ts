export const credits = (n: number | null | undefined) => (n == null ? '-' : `${n.toLocaleString('en')} credit${n === 1 ? '' : 's'}`);
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '-');
export const bytes = (n: number) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KB` : `${(n / (1 << 20)).toFixed(1)} MB`);
export const seconds = (s: number | null | undefined) => (s == null ? '-' : `${Math.round(s * 10) / 10} s`);
