/**
 * Spectral checks every example against its schema, compiling the schema with ajv first. It keeps
 * compiled validators by object identity, and its resolver gives each use of a `$ref`'d schema
 * its own copy: on our spec the error envelope alone was compiled 387 times, over half of
 * Spectral's run. This keys the compiled validators on the schema's JSON text as well, so each
 * distinct schema compiles once per run: the same validator for the same schema, the same findings.
 *
 * It wraps spectral-functions' `createAjvInstances` (read through its module exports at each call),
 * and only that: if the module is not where this version keeps it, Spectral runs as it is.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

type Compile = (schema: Record<string, unknown>, dialect: string, allErrors: boolean) => unknown;
interface AjvModule {
  createAjvInstances: () => Compile;
}

let installed = false;
let enabled = true;

/** Turns the memo on (default) or off for the Spectral runs that follow in this process. */
export function memoizeSpectralSchemaCompiles(on = true): void {
  enabled = on;
  if (installed) return;
  installed = true;
  let mod: AjvModule;
  try {
    const fromRulesets = createRequire(createRequire(import.meta.url).resolve('@stoplight/spectral-rulesets'));
    const functionsEntry = fromRulesets.resolve('@stoplight/spectral-functions');
    mod = fromRulesets(path.join(path.dirname(functionsEntry), 'schema', 'ajv.js')) as AjvModule;
    if (typeof mod.createAjvInstances !== 'function') return;
  } catch {
    return;
  }
  const original = mod.createAjvInstances;
  mod.createAjvInstances = () => {
    const compile = original();
    if (!enabled) return compile;
    const byText = new Map<string, unknown>();
    return (schema, dialect, allErrors) => {
      let text: string;
      try {
        text = `${dialect}\0${allErrors}\0${JSON.stringify(schema)}`;
      } catch {
        return compile(schema, dialect, allErrors); // a cyclic schema: compiled as Spectral would
      }
      let validator = byText.get(text);
      if (validator === undefined) byText.set(text, (validator = compile(schema, dialect, allErrors)));
      return validator;
    };
  };
}
