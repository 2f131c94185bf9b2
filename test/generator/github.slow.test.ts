/**
 * GitHub's REST description (@octokit/openapi, ~1,200 operations, 13 MB): all artifacts generate
 * and type-check. Slow, so it runs only with LAVENDLY_SLOW=1 (vitest.config.ts; CI sets it).
 */
import { describe, expect, it } from 'vitest';
import { generateInto, scratchDir, typecheck } from './helpers.js';

const GITHUB = 'node_modules/@octokit/openapi/generated/api.github.com.json';

describe("GitHub's REST description", () => {
  it('generates every artifact and the output type-checks', { timeout: 1_800_000 }, async () => {
    const dir = scratchDir('github');
    const started = performance.now();
    const result = await generateInto(GITHUB, dir);
    const ms = Math.round(performance.now() - started);
    expect(result.files.map((f) => f.file)).toEqual(
      expect.arrayContaining(['types.gen.ts', 'validators.gen.ts', 'routes.gen.ts', 'handlers.gen.ts', 'catalog.gen.ts', 'mcp.gen.ts', 'sdk.gen.ts']),
    );
    const routes = result.files.find((f) => f.file === 'routes.gen.ts')!.text;
    expect(routes.match(/^    \w+: \(input, c\) => handlers\./gm)!.length).toBeGreaterThan(1000);
    console.log(`github: generated in ${ms} ms (${result.timings.map((t) => `${t.name} ${Math.round(t.ms)}`).join(', ')})`);

    const { ok, output } = typecheck([dir], 'github');
    expect(output.slice(0, 5000)).toBe('');
    expect(ok).toBe(true);
  });
});
