/**
 * What generation costs, in credits. One table, in configuration: the defaults below, or the
 * JSON in `LAVENDLY_PRICES` (merged over them), for example
 *
 *   LAVENDLY_PRICES='{"image":1,"video":{"local":{"credits":2,"per_s":5}}}'
 *
 * A scene costs its opening still (when one is drawn; a scene that starts from an imported image
 * draws none) plus its clip: `credits` per started `per_s` seconds, by video model. With the
 * defaults a 5 s scene costs 2 + 8 = 10 credits and a 6 s one 2 + 16 = 18.
 */
import { z } from 'zod';

interface VideoPrice {
  /** Credits per started block of `per_s` seconds. */
  credits: number;
  per_s: number;
}

export interface PriceTable {
  /** Credits for drawing a scene's opening still (text-to-image). */
  image: number;
  /** Clip prices by video model (provider name); `default_model` prices any model not listed. */
  video: Record<string, VideoPrice>;
  default_model: string;
}

export const DEFAULT_PRICES: PriceTable = {
  image: 2,
  video: {
    local: { credits: 8, per_s: 5 },
    // Hosted models, priced per second of scene after what the providers bill per second.
    'openai:sora-2': { credits: 10, per_s: 1 },
    'openai:sora-2-pro': { credits: 30, per_s: 1 },
    'runway:gen4_turbo': { credits: 5, per_s: 1 },
    'runway:gen3a_turbo': { credits: 5, per_s: 1 },
  },
  default_model: 'local',
};

const credits = z.number().int().min(0).max(1_000_000);
const videoPrice = z.object({ credits, per_s: z.number().int().min(1).max(600) }).strict();
const override = z.object({
  image: credits.optional(),
  video: z.record(z.string().min(1), videoPrice).optional(),
  default_model: z.string().min(1).optional(),
}).strict();

/** The price table from `LAVENDLY_PRICES` (JSON) over the defaults; throws a readable error on a bad table. */
export function pricesFromEnv(env: NodeJS.ProcessEnv): PriceTable {
  const raw = env.LAVENDLY_PRICES;
  if (!raw || !raw.trim()) return DEFAULT_PRICES;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new Error(`LAVENDLY_PRICES is not valid JSON: ${(err as Error).message}`);
  }
  return mergePrices(json);
}

export function mergePrices(json: unknown, base: PriceTable = DEFAULT_PRICES): PriceTable {
  const parsed = override.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`LAVENDLY_PRICES is not a valid price table: ${issues}`);
  }
  const table: PriceTable = {
    image: parsed.data.image ?? base.image,
    video: { ...base.video, ...parsed.data.video },
    default_model: parsed.data.default_model ?? base.default_model,
  };
  if (!table.video[table.default_model]) {
    throw new Error(`LAVENDLY_PRICES: default_model '${table.default_model}' has no video price`);
  }
  return table;
}

export interface ScenePriceInput {
  duration_s: number;
  /** Whether an opening still is drawn (false when the scene starts from an imported image). */
  drawsImage: boolean;
  model: string;
}

/** Credits to generate one scene once (always at least 1: a free scene would skip the ledger). */
export function scenePrice(table: PriceTable, scene: ScenePriceInput): number {
  const video = table.video[scene.model] ?? table.video[table.default_model]!;
  const blocks = Math.max(1, Math.ceil(scene.duration_s / video.per_s));
  return Math.max(1, (scene.drawsImage ? table.image : 0) + blocks * video.credits);
}
