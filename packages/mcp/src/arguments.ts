/**
 * Checks tool arguments against the tool's generated JSON Schema before anything is sent, so an
 * agent learns which argument is wrong (and what to do instead) without a round trip. The schemas
 * are JSON Schema 2020-12 (they come from an OpenAPI 3.1 document), hence Ajv's 2020 build.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { McpToolDefinition } from '../../../generated/mcp.gen.js';

// ajv-formats is CommonJS: under ESM its default export may arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

export interface ArgumentIssue {
  /** The tool argument at fault (the top-level property name), or null for the whole input. */
  argument: string | null;
  /** Where inside the arguments, e.g. ['shots', 0, 'duration_s']. */
  path: (string | number)[];
  message: string;
  code: string;
  /** Another tool of the same operation that takes this argument (publish_video's `when` -> schedule_video). */
  use?: string;
}

/** One compiler for every tool; `strict` so a schema Ajv cannot fully understand fails loudly. */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

/**
 * One validator per tool list, shared by every server built on it. `/mcp` builds a server per
 * request and keeps one per session (up to 1000): each compiling its own Ajv validators held
 * ~350 KB per session once its tools had been called, ~350 MB for a client that fills the store.
 * Compiled validators are pure functions of the schemas, and `check` reads `errors` synchronously.
 */
const shared = new WeakMap<readonly McpToolDefinition[], ArgumentValidator>();
export function validatorFor(tools: readonly McpToolDefinition[]): ArgumentValidator {
  let validator = shared.get(tools);
  if (!validator) shared.set(tools, (validator = new ArgumentValidator(tools)));
  return validator;
}

export class ArgumentValidator {
  private readonly ajv = createAjv();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly tools: readonly McpToolDefinition[]) {}

  /** The problems with `input` for `tool` (empty when it is valid). */
  check(tool: McpToolDefinition, input: unknown): ArgumentIssue[] {
    let validate = this.compiled.get(tool.name);
    if (!validate) {
      validate = this.ajv.compile(tool.inputSchema);
      this.compiled.set(tool.name, validate);
    }
    if (validate(input)) return [];
    const errors = validate.errors ?? [];
    const kept = errors.filter(useful);
    return dedupe((kept.length ? kept : errors).map((e) => this.describe(tool, e)));
  }

  private describe(tool: McpToolDefinition, e: ErrorObject): ArgumentIssue {
    const path = pointerToPath(e.instancePath);
    if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      const full = [...path, missing];
      return { argument: String(full[0]), path: full, code: 'missing', message: `${formatPath(full)} is required.` };
    }
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const full = [...path, extra];
      if (path.length) {
        return { argument: String(full[0]), path: full, code: 'unknown_property', message: `${formatPath(full)} is not allowed here.` };
      }
      // Own keys only: `in` would find `toString`, `constructor`... on every args table's prototype.
      const sibling = this.tools.find((t) => t !== tool && t.operationId === tool.operationId && Object.hasOwn(t.args, extra));
      return { argument: extra, path: full, code: 'unknown_argument', message: this.unknownArgument(tool, extra, sibling), ...(sibling ? { use: sibling.name } : {}) };
    }
    const argument = path.length ? String(path[0]) : null;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'enum') message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    if (e.keyword === 'format') message = `must be a valid ${(e.params as { format: string }).format}${(e.params as { format: string }).format === 'date-time' ? ' (ISO 8601 with a time zone offset, e.g. 2026-01-15T09:00:00-05:00)' : ''}`;
    return { argument, path, code: e.keyword, message: `${path.length ? formatPath(path) : 'The arguments'} ${message}.` };
  }

  /** An argument the tool does not take; when a sibling tool of the same operation takes it, say so. */
  private unknownArgument(tool: McpToolDefinition, arg: string, sibling: McpToolDefinition | undefined): string {
    const accepted = Object.keys(tool.inputSchema.properties);
    const base = `${tool.name} takes no argument '${arg}'`;
    if (sibling) return `${base}; use ${sibling.name}, which takes '${arg}', instead.`;
    return `${base} (it takes: ${accepted.join(', ') || 'no arguments'}).`;
  }
}

/** `if`/`anyOf` wrappers only repeat what their branches already said. */
function useful(e: ErrorObject): boolean {
  return e.keyword !== 'if' && e.keyword !== 'anyOf' && e.keyword !== 'oneOf';
}

function dedupe(issues: ArgumentIssue[]): ArgumentIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path.join('/')}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** ['shots', 0, 'duration_s'] -> `shots[0].duration_s` */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(arguments)';
}
