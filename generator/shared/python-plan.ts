/**
 * The Python SDK's names, decided once for the emitter and the code samples: the package, the
 * client classes, one resource attribute per tag, one snake_case method per operation (the
 * TypeScript SDK's method names, snake-cased) and its keyword arguments (the SDK argument plan,
 * made valid Python identifiers).
 */
import type { IrDocument, IrOperation, IrTag } from '../ir-types.js';
import { NameAllocator } from '../names.js';
import { PY_KEYWORDS, pyIdentifier } from '../schema/python.js';
import { type ArgumentPlan, type PlannedArg, planArguments } from './arguments.js';
import { clientClassName, methodNames } from './sdk-names.js';
import { PY_TAKEN_MODULES } from './python-taken-names.js';
import { schemaEnv } from './source.js';

export interface PyArg {
  /** The keyword argument's name. */
  py: string;
  planned: PlannedArg;
  /** Required path parameters are also positional (`client.workflows.get("wf_1")`). */
  positional: boolean;
}

export interface PyMethod {
  op: IrOperation;
  name: string;
  args: PyArg[];
  plan: ArgumentPlan;
  /** `wait_for_<operation>` for operations that start an async job. */
  waitName: string | null;
}

export interface PyGroup {
  tag: IrTag;
  /** Attribute on the client: `client.workflows`. */
  attr: string;
  syncClass: string;
  asyncClass: string;
  methods: PyMethod[];
}

export interface PyPlan {
  /** Distribution and import name: `lavendly`. */
  packageName: string;
  clientName: string;
  asyncClientName: string;
  envPrefix: string;
  groups: PyGroup[];
}

/** Attributes of the client core a resource attribute must not hide. */
const CLIENT_MEMBERS = ['call', 'paginate', 'wait_for_job', 'upload_via_slot', 'download', 'download_file', 'close', 'api_key', 'base_url', 'timeout', 'max_retries'];
/** Names a generated method body uses besides its arguments. */
const METHOD_LOCALS = ['self', 'cast', 'request_options'];

export function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

const plans = new WeakMap<IrDocument, PyPlan>();

export function pythonPlan(ir: IrDocument): PyPlan {
  const cached = plans.get(ir);
  if (cached) return cached;
  const env = schemaEnv(ir);
  const clientName = clientClassName(ir.title);
  const classes = new NameAllocator([clientName, `Async${clientName}`]);
  const attrs = new NameAllocator(CLIENT_MEMBERS);
  const groups: PyGroup[] = [];
  for (const tag of ir.tagInfo) {
    const ops = ir.operations.filter((o) => o.tag === tag.name);
    if (!ops.length) continue;
    const base = classes.take(`${tag.typeName}Resource`, ['', 'Async']);
    const methodsOf = methodNames(ops, tag);
    const taken = new NameAllocator(['__init__']);
    const methods = ops.map((op) => ({ op, name: taken.take(pyIdentifier(snake(methodsOf.get(op)!) || snake(op.operationId))) }));
    groups.push({
      tag,
      attr: attrs.take(pyIdentifier(snake(tag.name) || tag.identifier)),
      syncClass: base,
      asyncClass: `Async${base}`,
      methods: methods.map(({ op, name }) => {
        const plan = planArguments(op, env, 'sdk');
        const argNames = new NameAllocator(METHOD_LOCALS);
        const args = plan.args.map((planned) => ({
          py: argNames.take(pyIdentifier(snake(planned.arg) || planned.arg)),
          planned,
          positional: planned.in === 'path' && planned.required,
        }));
        // Positional path parameters in the order the path names them (`/workflows/{id}/clips/{clip_id}`).
        const at = (a: PyArg) => (a.positional ? op.path.indexOf(`{${a.planned.name}}`) : Infinity);
        args.sort((a, b) => at(a) - at(b));
        return { op, name, args, plan, waitName: op.asyncJob ? taken.take(`wait_for_${snake(op.operationId)}`) : null };
      }),
    });
  }
  const plan: PyPlan = {
    packageName: pythonPackageName(clientName),
    clientName,
    asyncClientName: `Async${clientName}`,
    envPrefix: clientName.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase(),
    groups,
  };
  plans.set(ir, plan);
  return plan;
}

/**
 * The SDK's import name, also its project name on an index: a lower-case Python identifier that
 * PEP 508 accepts as a project name (starting and ending with a letter or digit: `import_` or
 * `_3d` make pip refuse the whole pyproject.toml), and that an import can reach. A keyword, a
 * standard library module or one of the SDK's dependencies gets `_sdk`: `import_sdk`, `json_sdk`.
 */
export function pythonPackageName(clientName: string): string {
  let name = clientName.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (!name) name = 'client';
  if (/^[0-9]/.test(name)) name = `api_${name}`;
  if (PY_KEYWORDS.has(name) || PY_TAKEN_MODULES.has(name)) name += '_sdk';
  return name;
}
