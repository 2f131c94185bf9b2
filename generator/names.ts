/**
 * Identifier helpers. Spec names are arbitrary strings (`repos/get-content`, `simple-user`,
 * `200_response`); generated code needs valid, unique and deterministic TS identifiers.
 */

const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'as implements interface let package private protected public static yield any boolean constructor declare get ' +
    'module require number set string symbol type from of unknown never object undefined bigint await async ' +
    'arguments eval NaN Infinity globalThis'
  ).split(' '),
);

/**
 * Value names the generated files declare or use at module level (validators.gen.ts exports one
 * const per operation identifier; its helpers are `lv_*`); operation identifiers must avoid them.
 */
export const RESERVED_VALUE_NAMES = (
  'z schemas operations operationValidators mountRoutes basePath Handlers RouteRuntime RouteResult OperationMeta ' +
  'OperationValidators Operations OperationId HttpMethod Object Number String Boolean Array JSON Math RegExp ' +
  'Date Error Promise Symbol Map Set Record Readable T v lv lvp lv_fn lv_shape lv_any lv_list lv_t lv_none lv_components lv_no lv_no_params lv_cp lv_check lv_fast lv_fast_re lv_fast_same lv_fast_checks responseSchema $'
).split(' ');

/** Type names types.gen.ts declares besides component and operation types. */
export const RESERVED_TYPE_NAMES = ['Operations', 'OperationId'];

/** `repos/get-content` -> `repos_get_content`; keeps an already valid name untouched. */
export function toIdentifier(name: string, { allowReserved = false } = {}): string {
  let id = name.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+(?=[A-Za-z])/, '');
  if (!id) id = '_';
  if (/^[0-9]/.test(id)) id = '_' + id;
  if (!allowReserved && RESERVED.has(id)) id += '_';
  return id;
}

/** `simple-user` -> `SimpleUser`, `getPetById` -> `GetPetById`, `200_ok` -> `_200Ok`. */
export function toPascal(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  let id = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  if (!id) id = '_';
  if (/^[0-9]/.test(id)) id = '_' + id;
  return id;
}

/** Hands out unique names from one namespace, in call order (so: deterministic). */
export class NameAllocator {
  private used: Set<string>;
  constructor(reserved: Iterable<string> = []) {
    this.used = new Set(reserved);
  }
  has(name: string): boolean {
    return this.used.has(name);
  }
  reserve(name: string): void {
    this.used.add(name);
  }
  /** First free of `base`, `base2`, `base3`... for which every `base+suffix` is free too. */
  take(base: string, suffixes: string[] = ['']): string {
    for (let i = 1; ; i++) {
      const candidate = i === 1 ? base : `${base}${/[0-9]$/.test(base) ? '_' : ''}${i}`;
      if (suffixes.every((s) => !this.has(candidate + s))) {
        for (const s of suffixes) this.used.add(candidate + s);
        return candidate;
      }
    }
  }
}

/**
 * A property key as written in TS source: bare when possible, else a JSON string. `__proto__` is
 * computed (`['__proto__']`): in an object literal a plain `__proto__:` key sets the prototype
 * instead of defining a property (a zod shape would silently lose the field); in a type it is the same key.
 */
export function propertyKey(name: string): string {
  if (name === '__proto__') return `['__proto__']`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** JSON pointer escaping (RFC 6901). */
export function pointerEscape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointerUnescape(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function pointerJoin(base: string, ...segments: (string | number)[]): string {
  return base + segments.map((s) => '/' + pointerEscape(String(s))).join('');
}
