/**
 * Text someone else chose (names, descriptions, prompts, URLs, providers' messages), shown so that
 * what it is can be seen: a character that draws nothing (zero-width space, soft hyphen, word
 * joiner, Hangul filler) would let "Launch" and "Launch\u200B" pass for the same workflow, and a
 * bidi override (U+202E) would show "Invoice \u202Efdp.exe" as "Invoice exe.pdf" and reorder the
 * text after it. Those characters are shown as their code point instead. Joiners (ZWJ, ZWNJ) and
 * variation selectors stay: emoji sequences and Persian or Indic words need them.
 */
const HIDDEN = /\u034F|[\u00AD\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u3164\uFEFF\uFFA0]/g;

/** `s` with every invisible or reordering character written out as ⟨U+XXXX⟩ (for titles, confirms and labels). */
export function visible(s: string): string {
  return s.replace(HIDDEN, (c) => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/**
 * A stored value in a sentence: written out as `visible` does, inside <bdi>, so right-to-left text
 * (Arabic, Hebrew) keeps its own direction without moving the separators and words around it.
 */
export function Stored(props: { text: string | null | undefined }) {
  return props.text == null ? null : <bdi>{visible(props.text)}</bdi>;
}
