/**
 * `text` cut to at most `max` UTF-16 units without splitting a surrogate pair: a plain `slice`
 * can end on the first half of an emoji, and the stored text then holds a lone surrogate, which
 * PostgreSQL refuses and SQLite keeps as U+FFFD.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
