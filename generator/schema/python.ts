/**
 * Python backend: JSON Schema -> Python type text for typing-annotated code (mypy --strict).
 * Objects with properties become TypedDicts; Python has no inline TypedDict, so every such object
 * is hoisted into a named class. The walker builds children before their parent, so a child
 * object is first a placeholder; its parent names it after itself and the property
 * (`Workflow` + `shots` item -> `WorkflowShotsItem`), and `PyTypes.resolve` writes the names in.
 * Nothing becomes `Any`: an unconstrained value is `object`.
 */
import type { IrSchemaComponent, JsonSchema } from '../ir-types.js';
import { NameAllocator, toPascal } from '../names.js';
import { type Additional, type PropertyNode, type SchemaBackend, SchemaEnv, isObj, walkSchema } from './walker.js';

/** Python's keywords; an identifier never takes one of these (soft keywords are valid names). */
export const PY_KEYWORDS = new Set(
  ('False None True and as assert async await break class continue def del elif else except finally for from global if ' +
    'import in is lambda nonlocal not or pass raise return try while with yield').split(' '),
);

/** Names the generated modules import from typing / builtins: component classes must not shadow them. */
export const PY_TYPE_NAMES = (
  'Dict List Literal Mapping Optional TypedDict NotRequired Required TypeAlias Union Iterator AsyncIterator cast ' +
  'str int float bool bytes object dict list tuple set None annotations'
).split(' ');

/** A Python string literal (double-quoted). */
export function pyStr(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A valid Python identifier (not a keyword) from any spec name: `$ref` -> `_ref`, `from` -> `from_`. */
export function pyIdentifier(name: string): string {
  let id = name.replace(/[^A-Za-z0-9_]+/g, '_');
  if (!id) id = '_';
  if (/^[0-9]/.test(id)) id = '_' + id;
  if (PY_KEYWORDS.has(id)) id += '_';
  return id;
}

export interface PyNode {
  text: string;
  /** Object definitions inside `text` still waiting for a name (their placeholders are in `text`). */
  pending: PyObject[];
}

export interface PyField {
  /** The JSON key. */
  key: string;
  type: PyNode;
  required: boolean;
  description?: string;
}

/** A TypedDict to declare. `name` is set once the owner of the placeholder names it. */
export interface PyObject {
  id: number;
  name?: string;
  fields: PyField[];
  description?: string;
}

const placeholder = (id: number) => `\u0000${id}\u0000`;
const atom = (text: string, pending: PyObject[] = []): PyNode => ({ text, pending });
const strLiteral = (s: string) => JSON.stringify(s).replace(/^"|"$/g, '').replace(/'/g, "\\'");

class PyBackend implements SchemaBackend<PyNode> {
  constructor(
    private readonly objects: PyObject[],
    private readonly componentName: (c: IrSchemaComponent) => string,
  ) {}
  ref(c: IrSchemaComponent): PyNode {
    return atom(this.componentName(c));
  }
  any(): PyNode {
    return atom('object');
  }
  never(): PyNode {
    return atom('NoReturn');
  }
  literal(values: unknown[]): PyNode {
    const parts: string[] = [];
    let hasNull = false;
    const others = new Set<string>();
    for (const v of values) {
      if (v === null) hasNull = true;
      else if (typeof v === 'string') parts.push(`'${strLiteral(v)}'`);
      else if (typeof v === 'boolean') parts.push(v ? 'True' : 'False');
      else if (typeof v === 'number' && Number.isInteger(v)) parts.push(String(v));
      else if (typeof v === 'number') others.add('float');
      else others.add('object');
    }
    const members = [...new Set(parts)];
    const out: string[] = [];
    if (members.length) out.push(`Literal[${members.join(', ')}]`);
    out.push(...others);
    if (hasNull) out.push('None');
    return atom(out.join(' | ') || 'NoReturn');
  }
  string(): PyNode {
    return atom('str');
  }
  binary(): PyNode {
    return atom('bytes');
  }
  number(_s: unknown, integer: boolean): PyNode {
    return atom(integer ? 'int' : 'float');
  }
  boolean(): PyNode {
    return atom('bool');
  }
  null(): PyNode {
    return atom('None');
  }
  array(items: PyNode | null | false, prefix: PyNode[]): PyNode {
    const members = [...prefix, ...(items ? [items] : [])];
    const pending = members.flatMap((m) => m.pending);
    const inner = union(members.length ? members : [atom('object')]);
    return atom(`List[${inner.text}]`, pending);
  }
  object(props: PropertyNode<PyNode>[], additional: Additional<PyNode>, s: { [k: string]: unknown }): PyNode {
    if (!props.some((p) => !p.absent)) {
      if (typeof additional === 'object') return atom(`Dict[str, ${additional.text}]`, additional.pending);
      return atom('Dict[str, object]');
    }
    const obj: PyObject = {
      id: this.objects.length,
      // A hidden property (read-only in a request, write-only in a response) is no field at all:
      // mypy then refuses a dict that sets it, and nothing asks for it.
      fields: props.filter((p) => !p.absent).map((p) => ({
        key: p.name,
        type: p.node,
        required: p.required,
        ...(typeof p.schema.description === 'string' ? { description: p.schema.description } : {}),
      })),
      ...(typeof s.description === 'string' ? { description: s.description } : {}),
    };
    this.objects.push(obj);
    return atom(placeholder(obj.id), [obj]);
  }
  union(members: PyNode[]): PyNode {
    return union(members);
  }
  /** Python has no intersection type: the first member that says something stands for all. */
  intersection(members: PyNode[]): PyNode {
    const kept = members.filter((m) => m.text !== 'object');
    return kept[0] ?? atom('object');
  }
}

function union(members: PyNode[]): PyNode {
  const seen = new Set<string>();
  const kept = members.filter((m) => !seen.has(m.text) && (seen.add(m.text), true));
  if (kept.some((m) => m.text === 'object')) return atom('object');
  const pending = kept.flatMap((m) => m.pending);
  // `None` last reads best (`str | None`).
  kept.sort((a, b) => Number(a.text === 'None') - Number(b.text === 'None'));
  return atom(kept.map((m) => m.text).join(' | '), pending);
}

/**
 * The types of one Python module: walks schemas, hands out class names for hoisted objects and
 * keeps every TypedDict to declare, in order of first use.
 */
export class PyTypes {
  readonly objects: PyObject[] = [];
  readonly names: NameAllocator;
  constructor(
    private readonly env: SchemaEnv,
    /** The Python name of a component, as declared in the types module. */
    readonly componentName: (c: IrSchemaComponent) => string,
    reserved: Iterable<string>,
  ) {
    this.names = new NameAllocator(reserved);
  }

  /**
   * The type of `schema`; objects inside it are named from `base` (the owner's name).
   * `base` itself is taken for a top-level object (a component keeps its own name).
   */
  type(schema: JsonSchema, base: string, own = false): string {
    const node = walkSchema(schema, new PyBackend(this.objects, this.componentName), this.env);
    this.nameRoot(node, base, own);
    return this.resolve(node.text);
  }

  private nameRoot(node: PyNode, base: string, own: boolean): void {
    node.pending.forEach((obj, i) => {
      if (obj.name) return;
      obj.name = own && i === 0 && node.text === placeholder(obj.id) ? base : this.names.take(i === 0 ? base : `${base}${i + 1}`);
      this.nameFields(obj);
    });
  }

  private nameFields(obj: PyObject): void {
    for (const f of obj.fields) {
      const base = `${obj.name}${toPascal(f.key)}`;
      f.type.pending.forEach((child, i) => {
        if (child.name) return;
        const itemish = f.type.text.startsWith('List[') || f.type.text.startsWith('Dict[');
        child.name = this.names.take(`${base}${itemish ? 'Item' : ''}${i ? i + 1 : ''}`);
        this.nameFields(child);
      });
    }
  }

  /** Placeholders replaced by class names. */
  resolve(text: string): string {
    return text.replace(/\u0000(\d+)\u0000/g, (_m, id: string) => this.objects[Number(id)]!.name!);
  }

  /** Is `schema` (through component refs) a plain JSON object with properties, i.e. a TypedDict? */
  isTypedDict(schema: JsonSchema): boolean {
    const s = this.env.deref(schema);
    return isObj(s) && isObj(s.properties) && Object.keys(s.properties).length > 0 && !('oneOf' in s) && !('anyOf' in s);
  }
}
