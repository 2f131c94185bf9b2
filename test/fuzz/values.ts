/**
 * Values from the spec's schemas: valid ones (examples first, else built from the schema, with the
 * ids of real objects where a schema names an id component) and mutants (what a careless or
 * hostile client sends instead). Schemas are read raw, `$ref`s followed on the way, so that an id
 * schema is known by its component name (`WorkflowId`) and can be filled from the world's pools.
 */
import type { Random } from './random.js';

export type Schema = { [key: string]: any };

/** Real ids by id component name (`WorkflowId`, `NodeId`, ...). */
export type IdPools = Record<string, string[]>;

export class SpecSchemas {
  constructor(readonly doc: Schema) {}

  /** Follows local `$ref`s; answers the target and the last component name on the way. */
  resolve(node: any): { schema: Schema; name: string | null } {
    let name: string | null = null;
    for (let i = 0; i < 20 && node && typeof node.$ref === 'string'; i++) {
      const parts = (node.$ref as string).slice(2).split('/');
      name = parts[parts.length - 1]!;
      node = parts.reduce((acc: any, key) => acc?.[key], this.doc);
    }
    return { schema: (node ?? {}) as Schema, name };
  }
}

/** URLs that never leave the host and never need DNS: imports and webhooks refuse them at once. */
const SAFE_URLS = ['https://127.0.0.1/clip.mp4', 'http://10.1.2.3/a.png', 'https://[::1]/x.mp3', 'http://192.168.0.9:8080/hook'];

function typesOf(s: Schema): string[] {
  if (Array.isArray(s.type)) return s.type;
  if (typeof s.type === 'string') return [s.type];
  if (s.properties) return ['object'];
  if (s.items) return ['array'];
  return [];
}

/** Text a database or a file name may choke on, kept valid in length so that it gets past the schema. */
const HOSTILE_TEXT = ['a\u0000b', '\u0000', 'x\ud800', '\udc00y', 'bell\u0007 esc\u001b del\u007f', 'line\r\nbreak', '\ufeffbom', '\uffff\ufffe'];

export class ValueMaker {
  /** Pools that win over `ids` for the request being built (the nodes of the workflow in its path). */
  focus: IdPools = {};
  constructor(private readonly spec: SpecSchemas, private readonly rnd: Random, private readonly ids: IdPools) {}

  /** A value the schema accepts (as far as this generator knows; the server has the last word). */
  valid(node: any, depth = 0): unknown {
    const { schema: s, name } = this.spec.resolve(node);
    const pool = name ? this.focus[name] ?? this.ids[name] : undefined;
    if (pool?.length && this.rnd.chance(0.9)) return this.rnd.pick(pool);
    if (s.const !== undefined) return s.const;
    if (Array.isArray(s.enum)) return this.rnd.pick(s.enum);
    if (s.format === 'uri') return this.rnd.pick(SAFE_URLS);
    const examples = [...(Array.isArray(s.examples) ? s.examples : []), ...(s.example !== undefined ? [s.example] : [])];
    if (examples.length && this.rnd.chance(0.5)) return this.localized(this.rnd.pick(examples));
    if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map((m: any) => this.valid(m, depth + 1)));
    const members = s.oneOf ?? s.anyOf;
    if (Array.isArray(members)) {
      const concrete = members.filter((m: any) => this.spec.resolve(m).schema.type !== 'null');
      return this.valid(this.rnd.pick(concrete.length && this.rnd.chance(0.9) ? concrete : members), depth + 1);
    }
    const types = typesOf(s);
    const concrete = types.filter((t) => t !== 'null');
    const type = concrete.length && (types.length === concrete.length || this.rnd.chance(0.9)) ? this.rnd.pick(concrete) : types[0];
    switch (type) {
      case 'null': return null;
      case 'boolean': return this.rnd.chance(0.5);
      case 'integer': return this.integer(s);
      case 'number': return this.number(s);
      case 'string': return this.string(s, name);
      case 'array': return this.array(s, depth);
      case 'object': return this.object(s, depth);
      default: return depth > 4 ? null : this.rnd.pick(['x', 1, true]);
    }
  }

  private integer(s: Schema): number {
    const min = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : 0;
    const max = typeof s.maximum === 'number' ? s.maximum : min + 50;
    return this.rnd.chance(0.2) ? min : this.rnd.chance(0.2) ? max : this.rnd.between(min, Math.min(max, min + 50));
  }

  private number(s: Schema): number {
    const min = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 0.001 : 0;
    const max = typeof s.maximum === 'number' ? s.maximum : min + 20;
    if (this.rnd.chance(0.15)) return min;
    return Math.round((min + this.rnd.next() * (Math.min(max, min + 20) - min)) * 1000) / 1000;
  }

  private string(s: Schema, name: string | null): string {
    if (s.format === 'date-time') return new Date(Date.now() + this.rnd.between(1, 48) * 3_600_000).toISOString();
    if (s.format === 'date') return '2026-01-15';
    if (typeof s.pattern === 'string') {
      const prefix = /^\^([a-z]+_)\[/.exec(s.pattern);
      if (prefix) return `${prefix[1]}${this.rnd.word(12)}`;
      if (s.pattern.startsWith('^[0-9]{4}-')) return `20${this.rnd.between(10, 39)}-0${this.rnd.between(1, 9)}`;
      if (s.pattern === '^whsec_') return `whsec_${this.rnd.word(16)}`;
    }
    if (name === 'NodeId') return `nd_${this.rnd.word(8)}`;
    const min = s.minLength ?? 1;
    const max = Math.max(min, Math.min(s.maxLength ?? 40, 40));
    const text = this.rnd.pick(['a fox at dusk', 'Bookshop fox', 'lantern street', 'title ü 🦊', 'x']);
    return text.repeat(Math.ceil(max / text.length)).slice(0, this.rnd.between(min, max)).padEnd(min, 'x');
  }

  private array(s: Schema, depth: number): unknown[] {
    const min = s.minItems ?? 0;
    const max = Math.min(s.maxItems ?? min + 3, min + 3);
    const n = depth > 3 ? min : this.rnd.between(min, max);
    const items = Array.from({ length: n }, () => this.valid(s.items ?? {}, depth + 1));
    if (!s.uniqueItems) return items;
    const seen = new Set<string>();
    return items.filter((v) => !seen.has(JSON.stringify(v)) && seen.add(JSON.stringify(v)));
  }

  private object(s: Schema, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const required: string[] = s.required ?? [];
    for (const [key, sub] of Object.entries<any>(s.properties ?? {})) {
      if (required.includes(key) || (depth < 4 && this.rnd.chance(0.5))) out[key] = this.valid(sub, depth + 1);
    }
    if (!s.properties && s.additionalProperties !== false && this.rnd.chance(0.5)) out[this.rnd.word(4)] = this.rnd.word(6);
    // A patch schema asks for at least one field: fill optional ones until it has enough.
    for (const [key, sub] of Object.entries<any>(s.properties ?? {})) {
      if (Object.keys(out).length >= (s.minProperties ?? 0)) break;
      if (!(key in out)) out[key] = this.valid(sub, depth + 1);
    }
    return out;
  }

  /**
   * An example with every URL in it swapped for one that stays on this host (examples name real
   * hosts), and every id for a real one with the same prefix (examples name objects that do not exist).
   */
  localized(example: unknown): unknown {
    if (typeof example === 'string') {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(example)) return this.rnd.pick(SAFE_URLS);
      const real = this.poolByPrefix().get(/^([a-z]+)_/.exec(example)?.[1] ?? '');
      return real?.length && this.rnd.chance(0.9) ? this.rnd.pick(real) : example;
    }
    if (Array.isArray(example)) return example.map((v) => this.localized(v));
    if (typeof example === 'object' && example !== null) return Object.fromEntries(Object.entries(example).map(([k, v]) => [k, this.localized(v)]));
    return example;
  }

  /**
   * A value at the edge of what the schema allows (still valid, so it reaches the handler): the
   * bounds of a number, far or odd date-times, the longest string in wide characters.
   */
  boundary(node: any): unknown {
    const { schema: s } = this.spec.resolve(node);
    const types = typesOf(s);
    if (types.includes('integer') || types.includes('number')) {
      const int = !types.includes('number');
      const lo = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + (int ? 1 : 1e-9) : int ? -(2 ** 53 - 1) : -1e308;
      const hi = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - (int ? 1 : 1e-9) : int ? 2 ** 53 - 1 : 1e308;
      return this.rnd.pick([lo, hi, int ? lo + 1 : lo + 1e-9, int ? hi - 1 : hi - 1e-9, int ? 0 : 5e-324].filter((v) => v >= lo && v <= hi));
    }
    if (s.format === 'date-time') {
      return this.rnd.pick(['9999-12-31T23:59:59Z', '0001-01-01T00:00:00Z', '2028-02-29T12:00:00+14:00', '2030-01-01t00:00:00z',
        '2030-06-30T23:59:60Z', '2030-01-01T00:00:00.123456789-12:00', new Date(Date.now() + 1_000).toISOString(), '2031-01-01 10:00:00+0530']);
    }
    if (types.includes('string') && !s.pattern && !s.enum && !s.format) {
      const max = Math.min(s.maxLength ?? 5_000, 70_000);
      return this.rnd.pick(['\u{1F98A}', 'é', '\u0301', 'Ω', '\u200f', ' ', '\\', '"', '%', '\n']).repeat(max).slice(0, max);
    }
    return this.valid(node);
  }

  /** Each pool by its ids' prefix (`ast` -> the asset ids), read afresh: pools grow as the fuzz creates objects. */
  private poolByPrefix(): Map<string, string[]> {
    const byPrefix = new Map<string, string[]>();
    for (const [name, list] of Object.entries({ ...this.ids, ...this.focus })) {
      const prefix = name.startsWith('__') ? null : /^([a-z]+)_/.exec(list[0] ?? '')?.[1];
      if (prefix) byPrefix.set(prefix, list);
    }
    return byPrefix;
  }

  hostileText(): string {
    return this.rnd.pick(HOSTILE_TEXT);
  }

  /** Something a client might send instead of a valid value of this schema. */
  mutant(node: any): unknown {
    const { schema: s, name } = this.spec.resolve(node);
    const types = typesOf(s);
    const generic: unknown[] = [null, true, 0, -1, 'x', [], {}, [1, 'a'], { a: { b: [] } }];
    const strings: unknown[] = [
      '', ' ', 'a'.repeat(this.rnd.pick([257, 2_001, 70_000])), 'a\u0000b', '\u0000', 'tab\tnew\nline\u001b[31m', '\ud800', 'x\udfff',
      '🦊'.repeat(300), 'e\u0301\u202e\u200b', '../../etc/passwd', '%00%2F..', "'; drop table workflows; --", '${7*7}{{7*7}}',
      'wf_' + 'z'.repeat(64), 'ast_../../x', 'nd_nope', `${name ? name.slice(0, 3).toLowerCase() : 'id'}_${this.rnd.word(70)}`,
      '2026-13-45T99:99:99Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999+14:00', '1970-01-01T00:00:00Z', 'javascript:alert(1)',
      'file:///etc/passwd', 'http://169.254.169.254/latest/meta-data', 'ftp://10.0.0.1/x', 'NaN', 'Infinity', '-0', '1e999',
    ];
    const numbers: unknown[] = [
      -0, 0.5, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 53) - 2, 2 ** 31, 2 ** 32 + 1, 1e-300, 1e20, -1, Number.MAX_SAFE_INTEGER,
      typeof s.maximum === 'number' ? s.maximum + 1 : 1e9, typeof s.minimum === 'number' ? s.minimum - 1 : -1e9,
      typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum : 0,
    ];
    const pools: unknown[][] = [generic];
    if (types.includes('string') || name?.endsWith('Id')) pools.push(strings, strings, HOSTILE_TEXT);
    if (types.includes('integer') || types.includes('number')) pools.push(numbers, numbers);
    if (Array.isArray(s.enum)) pools.push(['not_an_enum', String(s.enum[0]).toUpperCase(), `${String(s.enum[0])} `]);
    if (types.includes('array')) {
      const one = this.valid(s.items ?? {});
      pools.push([[one, one], Array.from({ length: 1_000 }, () => one), [null], [[one]]]);
    }
    if (types.includes('object')) pools.push([{ [this.rnd.word(5)]: 1 }, { ['k\u0000']: 'v' }, { __proto__: { polluted: true } }, JSON.parse('{"__proto__":{"x":1}}')]);
    if (name && this.ids[name]?.length) pools.push(this.ids.__foreign ?? []);
    return this.rnd.pick(this.rnd.pick(pools.filter((p) => p.length)));
  }
}
