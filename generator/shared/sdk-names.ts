/**
 * The TypeScript SDK's names that other artifacts repeat: the client class (from info.title) and
 * one method name per operation of a tag. The Python SDK snake-cases the same names and the code
 * samples call them, so they are decided here, once.
 */
import type { IrOperation, IrTag } from '../ir-types.js';
import { NameAllocator, toIdentifier, toPascal } from '../names.js';

/** `Lavendly API` -> `Lavendly`, `Swagger Petstore - OpenAPI 3.0` -> `SwaggerPetstore`. */
export function clientClassName(title: string): string {
  const words = title.replace(/['\u2019]s\b/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  while (words.length > 1 && /^(api|apis|rest|http|openapi|swagger|spec|service|v?\d+(\.\d+)*)$/i.test(words[words.length - 1]!)) words.pop();
  const name = toPascal(words.join(' '));
  return name === '_' ? 'Client' : name;
}

export function camel(words: string[]): string {
  const [first = '', ...rest] = words;
  return toIdentifier(first.toLowerCase() + rest.map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join(''), { allowReserved: true });
}

export function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

function variants(word: string): string[] {
  const out = [word, `${word}s`];
  if (word.endsWith('ies')) out.push(`${word.slice(0, -3)}y`);
  if (word.endsWith('es')) out.push(word.slice(0, -2));
  if (word.endsWith('s')) out.push(word.slice(0, -1));
  return out;
}

/** x-sdk-method, else the operationId without the tag's words when unique in the tag, else camelCase(operationId). */
export function methodNames(ops: IrOperation[], tag: IrTag): Map<IrOperation, string> {
  const tagWords = new Set(words(tag.name).flatMap(variants));
  const candidate = new Map<IrOperation, string>();
  for (const op of ops) {
    if (op.sdkMethod) candidate.set(op, toIdentifier(op.sdkMethod, { allowReserved: true }));
    else {
      const kept = words(op.operationId).filter((w) => !tagWords.has(w));
      candidate.set(op, kept.length ? camel(kept) : camel(words(op.operationId)));
    }
  }
  const count = new Map<string, number>();
  for (const name of candidate.values()) count.set(name, (count.get(name) ?? 0) + 1);
  const names = new NameAllocator(['constructor']);
  const out = new Map<IrOperation, string>();
  // Explicit names first, so that a derived name never takes one the spec asked for.
  for (const op of [...ops.filter((o) => o.sdkMethod), ...ops.filter((o) => !o.sdkMethod)]) {
    const c = candidate.get(op)!;
    const base = op.sdkMethod || count.get(c) === 1 ? c : camel(words(op.operationId)) || c;
    out.set(op, names.take(base));
  }
  return new Map(ops.map((op) => [op, out.get(op)!]));
}

/** The name the SDK runtimes' templates give their base error class; generated SDKs rename it. */
export const TEMPLATE_BASE_ERROR = 'LavendlyError';

/**
 * The base class of every error an SDK throws, named for the API: `Lavendly` -> `LavendlyError`,
 * `Petstore` -> `PetstoreError`; `<Client>ApiError` when that would be another class's name
 * (`Server` -> `ServerApiError`, not the runtime's `ServerError`).
 */
export function baseErrorName(clientName: string, taken: Iterable<string>): string {
  const name = `${clientName}Error`;
  return new Set(taken).has(name) ? `${clientName}ApiError` : name;
}

/** A runtime template's text with its base error class renamed (whole identifiers only). */
export function renameBaseError(text: string, name: string): string {
  return name === TEMPLATE_BASE_ERROR ? text : text.replace(new RegExp(`\\b${TEMPLATE_BASE_ERROR}\\b`, 'g'), name);
}
