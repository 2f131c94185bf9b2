/**
 * TS backend: JSON Schema -> TypeScript type text. Uses no global type names (no Record, Array,
 * Promise...) so that a component called `Record` cannot break types.gen.ts.
 */
import type { IrSchemaComponent, JsonSchema } from '../ir-types.js';
import { propertyKey } from '../names.js';
import { type Additional, type PropertyNode, type SchemaBackend, SchemaEnv, walkSchema } from './walker.js';

/** Precedence: 0 union, 1 intersection, 2 atom. */
export interface TsNode {
  text: string;
  prec: 0 | 1 | 2;
}

export interface TsOptions {
  /** Prefix for component type names: '' inside types.gen.ts, 'T.' elsewhere. */
  refPrefix?: string;
  /** How `format: binary` strings are typed: a Node stream (server input) or a Blob-ish (client). */
  binary?: 'stream' | 'blob' | 'unknown';
  /** Emit JSDoc for descriptions. */
  docs?: boolean;
}

const atom = (text: string): TsNode => ({ text, prec: 2 });
const wrap = (n: TsNode, min: number): string => (n.prec < min ? `(${n.text})` : n.text);

export function docComment(description: unknown, deprecated = false): string {
  const lines: string[] = [];
  if (typeof description === 'string' && description.trim()) lines.push(...description.trim().split(/\r?\n/));
  if (deprecated) lines.push('@deprecated');
  if (!lines.length) return '';
  const body = lines.map((l) => l.replace(/\*\//g, '*\\/'));
  return body.length === 1 ? `/** ${body[0]} */\n` : `/**\n${body.map((l) => ` * ${l}`.trimEnd()).join('\n')}\n */\n`;
}

function indent(text: string): string {
  return text.replace(/\n(?!\n)/g, '\n  ');
}

class TsBackend implements SchemaBackend<TsNode> {
  constructor(private readonly opts: Required<TsOptions>) {}
  ref(c: IrSchemaComponent): TsNode {
    return atom(this.opts.refPrefix + c.identifier);
  }
  any(): TsNode {
    return atom('unknown');
  }
  never(): TsNode {
    return atom('never');
  }
  literal(values: unknown[]): TsNode {
    const texts = [...new Set(values.map((v) => (v === undefined ? 'undefined' : JSON.stringify(v))))];
    return texts.length === 1 ? atom(texts[0]!) : { text: texts.join(' | '), prec: 0 };
  }
  string(): TsNode {
    return atom('string');
  }
  binary(): TsNode {
    const b = this.opts.binary;
    return atom(b === 'stream' ? "import('node:stream').Readable" : b === 'blob' ? 'Blob' : 'unknown');
  }
  number(): TsNode {
    return atom('number');
  }
  boolean(): TsNode {
    return atom('boolean');
  }
  null(): TsNode {
    return atom('null');
  }
  array(items: TsNode | null | false, prefix: TsNode[], s: { [k: string]: unknown }): TsNode {
    if (!prefix.length) return atom(`${wrap(items || atom('unknown'), 2)}[]`);
    const min = typeof s.minItems === 'number' ? s.minItems : 0;
    const elems = prefix.map((p, i) => `${wrap(p, 1)}${i >= min ? '?' : ''}`);
    if (items !== false) elems.push(`...${wrap(items ?? atom('unknown'), 2)}[]`);
    return atom(`[${elems.join(', ')}]`);
  }
  object(props: PropertyNode<TsNode>[], additional: Additional<TsNode>, s: { [k: string]: unknown }): TsNode {
    const lines = props.map((p) => {
      const doc = this.opts.docs ? docComment(withAbsentNote(p.schema.description, p.absent), p.schema.deprecated === true) : '';
      return `${doc}${propertyKey(p.name)}${p.required ? '' : '?'}: ${p.node.text};`;
    });
    if (additional === true || (additional === 'default' && !props.length)) lines.push('[key: string]: unknown;');
    else if (additional === false && !props.length) lines.push('[key: string]: never;');
    else if (typeof additional === 'object') lines.push(`[key: string]: ${props.length ? 'unknown' : additional.text};`);
    void s;
    if (!lines.length) return atom('{}');
    return atom(`{\n  ${indent(lines.join('\n'))}\n}`);
  }
  union(members: TsNode[]): TsNode {
    const kept = dedupe(members);
    if (kept.some((m) => m.text === 'unknown')) return atom('unknown');
    return kept.length === 1 ? kept[0]! : { text: kept.map((m) => m.text).join(' | '), prec: 0 };
  }
  intersection(members: TsNode[]): TsNode {
    const kept = dedupe(members).filter((m) => m.text !== 'unknown');
    if (!kept.length) return atom('unknown');
    return kept.length === 1 ? kept[0]! : { text: kept.map((m) => wrap(m, 1)).join(' & '), prec: 1 };
  }
}

/** What a hidden property's `never` means, for the reader of the type. */
function withAbsentNote(description: unknown, absent: PropertyNode<TsNode>['absent']): unknown {
  if (!absent) return description;
  const note = absent === 'readOnly' ? 'Read-only: the server sets it; a request leaves it out.' : 'Write-only: never sent back in a response.';
  return typeof description === 'string' && description.trim() ? `${description.trim()}\n\n${note}` : note;
}

function dedupe(nodes: TsNode[]): TsNode[] {
  const seen = new Set<string>();
  return nodes.filter((n) => !seen.has(n.text) && (seen.add(n.text), true));
}

/** One schema as TS type text. */
export function tsType(schema: JsonSchema, env: SchemaEnv, opts: TsOptions = {}): string {
  return tsNode(schema, env, opts).text;
}

export function tsNode(schema: JsonSchema, env: SchemaEnv, opts: TsOptions = {}): TsNode {
  const backend = new TsBackend({ refPrefix: opts.refPrefix ?? '', binary: opts.binary ?? 'unknown', docs: opts.docs ?? true });
  return walkSchema(schema, backend, env);
}
