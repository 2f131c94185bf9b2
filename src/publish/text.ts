/** Platform text limits, applied for the user instead of letting the platform refuse the post. */

/** At most `max` characters (code points, so an emoji is never cut in half); whitespace trimmed. */
export function clampChars(text: string, max: number): string {
  const chars = Array.from(text.trim());
  if (chars.length <= max) return chars.join('');
  return chars.slice(0, max - 1).join('').trimEnd() + '…';
}

/** At most `max` UTF-16 code units (TikTok counts "runes" this way), without splitting a pair. */
export function clampUtf16(text: string, max: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  let out = '';
  for (const ch of trimmed) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return out.trimEnd() + '…';
}

/** At most `max` UTF-8 bytes, cut on a character boundary. */
export function clampBytes(text: string, max: number): string {
  const trimmed = text.trim();
  if (Buffer.byteLength(trimmed) <= max) return trimmed;
  let out = '';
  let bytes = 0;
  const ellipsis = Buffer.byteLength('…');
  for (const ch of trimmed) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > max - ellipsis) break;
    out += ch;
    bytes += n;
  }
  return out.trimEnd() + '…';
}
