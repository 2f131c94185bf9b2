/**
 * What `check` says beyond "these files are stale": which schemas and operations changed. Both
 * the files on disk and the fresh ones are cut into top-level entries (an exported declaration,
 * or a `  name: ...` member of a table), and entries whose text differs are mapped back to the
 * schema or operation that produced them. A changed schema also names every operation that
 * uses it, directly or through other schemas.
 */
import type { IrDocument } from './ir-types.js';
import { schemaRefName } from './schema/refs.js';

const ENTRY_START = /^(?:export (?:declare )?(?:type|interface|const|function|class) ([A-Za-z_$][\w$]*)|  ([A-Za-z_$][\w$]*|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"): )/;

/** name -> text of every top-level entry; a doc comment belongs to the entry after it. */
export function entriesOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | null = null;
  let buf: string[] = [];
  let pending: string[] = [];
  let inComment = false;
  const flush = () => {
    if (name !== null) out.set(name, (out.get(name) ?? '') + buf.join('\n'));
    name = null;
    buf = [];
  };
  for (const line of text.split('\n')) {
    if (!inComment && /^(  )?\/\*\*/.test(line)) inComment = true;
    if (inComment) {
      pending.push(line);
      if (line.includes('*/')) inComment = false;
      continue;
    }
    const m = ENTRY_START.exec(line);
    if (m) {
      flush();
      name = (m[1] ?? m[2]!).replace(/^['"]|['"]$/g, '');
      buf = [...pending, line];
      pending = [];
    } else if (name !== null) {
      buf.push(...pending, line);
      pending = [];
    }
  }
  flush();
  return out;
}

export interface DriftExplanation {
  /** Changed schemas with the operations that use them (spec names and operationIds). */
  schemas: { name: string; usedBy: string[] }[];
  /** Operations whose own input, result or metadata changed. */
  operations: string[];
}

function refsIn(value: unknown): Set<string> {
  const names = new Set<string>();
  for (const m of JSON.stringify(value).matchAll(/"\$ref":"([^"]+)"/g)) {
    const name = schemaRefName(JSON.parse(`"${m[1]}"`) as string);
    if (name !== null) names.add(name);
  }
  return names;
}

export function explainDrift(ir: IrDocument, files: { file: string; text: string; old: string | null }[]): DriftExplanation {
  const changed = new Set<string>();
  for (const f of files) {
    if (f.old === f.text) continue;
    const before = entriesOf(f.old ?? '');
    const after = entriesOf(f.text);
    for (const [k, v] of after) if (before.get(k) !== v) changed.add(k);
    for (const k of before.keys()) if (!after.has(k)) changed.add(k);
  }
  const direct = new Set(ir.schemas.filter((s) => changed.has(s.identifier)).map((s) => s.name));
  // Which schemas each schema reaches, to find the operations that use a changed one indirectly.
  const refs = new Map(ir.schemas.map((s) => [s.name, refsIn(s.schema)]));
  const reach = (start: Set<string>): Set<string> => {
    const seen = new Set<string>();
    const todo = [...start];
    while (todo.length) {
      const n = todo.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const r of refs.get(n) ?? []) todo.push(r);
    }
    return seen;
  };
  const opReach = ir.operations.map((op) => ({ op, uses: reach(refsIn({ p: op.parameters, b: op.requestBody, r: op.responses })) }));
  const schemas = [...direct].map((name) => ({ name, usedBy: opReach.filter((o) => o.uses.has(name)).map((o) => o.op.operationId) }));
  const operations = ir.operations
    .filter((op) => [op.identifier, op.typeName, `${op.typeName}Input`, `${op.typeName}Result`].some((n) => changed.has(n)))
    .map((op) => op.operationId);
  return { schemas, operations };
}

export function formatExplanation(e: DriftExplanation): string[] {
  const lines: string[] = [];
  for (const s of e.schemas) lines.push(`schema ${s.name} changed; operations using it: ${s.usedBy.length ? s.usedBy.join(', ') : '(none)'}`);
  if (e.operations.length) lines.push(`operations changed: ${e.operations.join(', ')}`);
  return lines;
}
