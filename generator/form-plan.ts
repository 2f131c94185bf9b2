/**
 * How the server runtime reads an `application/x-www-form-urlencoded` body of a schema
 * (packages/framework/src/runtime/form.ts, whose FormPlan this builds): each top-level property as
 * OpenAPI's Encoding Object says, default style form with explode (an array is its key repeated),
 * `style: deepObject` for brackets (`meta[key]=v`, nested as Stripe nests them), `contentType:
 * application/json` for one JSON text. An object property without an encoding is one JSON text too:
 * that is what both SDKs have always sent for it. What no form can say is returned as a finding
 * (the lint's `lavendly/form-body-field`), with the JSON text the SDKs send in its place.
 */
import type { IrEncoding } from './ir-types.js';
import { pointerJoin } from './names.js';

type Schema = unknown;
type Obj = { [key: string]: unknown };

export type FormField =
  | { kind: 'string' | 'integer' | 'number' | 'boolean' | 'json' }
  | { kind: 'array'; items: FormField }
  | { kind: 'object'; properties: { [name: string]: FormField }; additional: FormField | null };

export interface FormPlan {
  properties: { [name: string]: FormField };
  additional: FormField | null;
}

export interface FormFinding {
  pointer: string;
  message: string;
}

/** Form content types the runtime decodes (by a plan); multipart and the rest stay a stream. */
export function isFormType(contentType: string): boolean {
  // Parameters (`; charset=utf-8`) and case aside, as the runtime matches a request's type (body.ts).
  return contentType.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/**
 * What the SDKs must know of a form body's `encoding`: the properties declared deepObject, and
 * those declared JSON (a list among them is one JSON text, not its key repeated). Null: none.
 */
export function sdkFormEncoding(contentType: string, encoding: IrEncoding | undefined): { [name: string]: 'deepObject' | 'json' } | null {
  if (!isFormType(contentType) || !encoding) return null;
  const out: { [name: string]: 'deepObject' | 'json' } = {};
  for (const [name, e] of Object.entries(encoding)) {
    const how = e.contentType && /json/i.test(e.contentType) ? 'json' : e.style === 'deepObject' ? 'deepObject' : null;
    if (how && name !== '__proto__') setOwn(out, name, how);
  }
  return Object.keys(out).length ? out : null;
}

/** Brackets below a deepObject property the plan follows (runtime/form.ts's MAX_FORM_DEPTH). */
const MAX_DEPTH = 8;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object' | 'mixed';

class PlanBuilder {
  readonly findings: FormFinding[] = [];
  constructor(private readonly deref: (s: Schema) => Schema) {}

  /** A field no form can carry: left out of the plan, and named by the lint rather than lost unsaid. */
  protoField(at: string): void {
    this.findings.push({ pointer: at, message: 'a form field named __proto__ can never be sent: the server refuses the key (forbidden_key: it would reach an object prototype) and the SDKs drop it; rename the field' });
  }

  /** The schema with refs followed and allOf members' properties merged in. */
  flat(schema: Schema, depth = 0): Obj | null {
    const s = this.deref(schema);
    if (!isObj(s)) return null;
    if (!Array.isArray(s.allOf) || depth > 10) return s;
    const merged: Obj = { ...s, properties: { ...(isObj(s.properties) ? s.properties : {}) } };
    for (const member of s.allOf) {
      const m = this.flat(member, depth + 1);
      if (!m) continue;
      for (const [k, v] of Object.entries(m)) if (k !== 'properties' && !(k in merged)) merged[k] = v;
      Object.assign(merged.properties as Obj, isObj(m.properties) ? m.properties : {});
    }
    return merged;
  }

  kind(schema: Schema, depth = 0): Kind {
    const s = this.flat(schema);
    if (!s) return 'string';
    const types = (Array.isArray(s.type) ? s.type : typeof s.type === 'string' ? [s.type] : []).filter((t) => t !== 'null');
    if (types.length > 1) return 'mixed';
    if (types[0] === 'array' || 'items' in s) return 'array';
    if (types[0] === 'object' || isObj(s.properties) || s.additionalProperties !== undefined) return 'object';
    if (types.length === 1) return types[0] as Kind;
    const values = Array.isArray(s.enum) ? s.enum.filter((v) => v !== null) : null;
    if (values?.length && values.every((v) => Number.isInteger(v))) return 'integer';
    if (values?.length && values.every((v) => typeof v === 'number')) return 'number';
    if (values?.length && values.every((v) => typeof v === 'boolean')) return 'boolean';
    for (const key of ['anyOf', 'oneOf']) {
      if (!Array.isArray(s[key]) || depth > 10) continue;
      const kinds = new Set((s[key] as Schema[]).filter((m) => !isNull(this.deref(m))).map((m) => this.kind(m, depth + 1)));
      if (kinds.size === 1) return [...kinds][0]!;
      return [...kinds].some((k) => k === 'array' || k === 'object' || k === 'mixed') ? 'mixed' : 'string';
    }
    return 'string';
  }

  /** A top-level property, read as its Encoding Object says. */
  property(schema: Schema, encoding: IrEncoding[string] | undefined, at: string): FormField {
    at = refAt(schema, at);
    if (encoding?.contentType && /json/i.test(encoding.contentType)) return { kind: 'json' };
    const deep = encoding?.style === 'deepObject';
    const kind = this.kind(schema);
    if (kind === 'object') return deep ? this.object(schema, at, 1) : { kind: 'json' };
    if (kind === 'array') return this.array(schema, at, deep, 1);
    return this.scalar(kind, at);
  }

  scalar(kind: Kind, at: string): FormField {
    if (kind === 'mixed') {
      this.findings.push({ pointer: at, message: 'a form field whose schema allows both a list or object and a plain value has no form encoding: the server reads it as one JSON text (as the SDKs send it); give it one type, or encoding.contentType application/json' });
      return { kind: 'json' };
    }
    return { kind: kind as 'string' | 'integer' | 'number' | 'boolean' };
  }

  array(schema: Schema, at: string, deep: boolean, depth: number): FormField {
    at = refAt(schema, at);
    const s = this.flat(schema)!;
    const items = isObj(s.items) || typeof s.items === 'boolean' ? s.items : true;
    const kind = this.kind(items);
    const itemsAt = pointerJoin(at, 'items');
    if (kind === 'object' && deep) return { kind: 'array', items: this.object(items, itemsAt, depth + 1) };
    if (kind === 'object' || kind === 'array') {
      this.findings.push({
        pointer: at,
        message: `a form field holding a list of ${kind}s without encoding style deepObject has no form encoding: the server reads each item as a JSON text (as the SDKs send them); declare encoding style deepObject (${deep ? 'not for lists of lists' : 'items[0][key]=value'}) or contentType application/json`,
      });
      return { kind: 'array', items: { kind: 'json' } };
    }
    return { kind: 'array', items: this.scalar(kind, itemsAt) };
  }

  /** An object below a deepObject property: every nested object and list in brackets. */
  object(schema: Schema, at: string, depth: number): FormField {
    if (depth > MAX_DEPTH) {
      this.findings.push({ pointer: at, message: `a deepObject form field nested deeper than ${MAX_DEPTH} brackets (a recursive schema?): the server reads this level as one JSON text` });
      return { kind: 'json' };
    }
    at = refAt(schema, at);
    const s = this.flat(schema)!;
    const properties: { [name: string]: FormField } = {};
    for (const [name, sub] of Object.entries(isObj(s.properties) ? s.properties : {})) {
      const subAt = pointerJoin(pointerJoin(at, 'properties'), name);
      if (name === '__proto__') {
        this.protoField(subAt);
        continue;
      }
      setOwn(properties, name, this.nested(sub, subAt, depth));
    }
    const extra = s.additionalProperties;
    const additional = extra === true || isObj(extra) ? this.nested(extra, pointerJoin(at, 'additionalProperties'), depth) : null;
    return { kind: 'object', properties, additional };
  }

  nested(schema: Schema, at: string, depth: number): FormField {
    const kind = this.kind(schema);
    if (kind === 'object') return this.object(schema, at, depth + 1);
    if (kind === 'array') return this.array(schema, at, true, depth + 1);
    return this.scalar(kind, at);
  }
}

/** Where a finding points: the component a `$ref` names (its own pointer), else the place of use. */
function refAt(schema: Schema, at: string): string {
  return isObj(schema) && typeof schema.$ref === 'string' && schema.$ref.startsWith('#/') ? schema.$ref : at;
}

function isNull(s: Schema): boolean {
  return isObj(s) && (s.type === 'null' || (Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null));
}

function setOwn(o: Obj, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The plan of a form body's schema, or null when the body is not an object (a form is a set of
 * named fields): such a body stays the request stream, as before. `at` points at the media type.
 */
export function formPlan(schema: Schema, encoding: IrEncoding | undefined, deref: (s: Schema) => Schema, at: string): { plan: FormPlan | null; findings: FormFinding[] } {
  const b = new PlanBuilder(deref);
  const schemaAt = refAt(schema, pointerJoin(at, 'schema'));
  if (b.kind(schema) !== 'object') return { plan: null, findings: [] };
  const s = b.flat(schema)!;
  const properties: { [name: string]: FormField } = {};
  for (const [name, sub] of Object.entries(isObj(s.properties) ? s.properties : {})) {
    if (name === '__proto__') {
      b.protoField(pointerJoin(pointerJoin(schemaAt, 'properties'), name));
      continue;
    }
    const e = encoding && Object.hasOwn(encoding, name) ? encoding[name] : undefined;
    setOwn(properties, name, b.property(sub, e, pointerJoin(pointerJoin(schemaAt, 'properties'), name)));
  }
  const extra = s.additionalProperties;
  const additional = extra === true || isObj(extra) ? b.property(extra, undefined, pointerJoin(schemaAt, 'additionalProperties')) : null;
  return { plan: { properties, additional }, findings: b.findings };
}
