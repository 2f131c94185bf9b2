/**
 * A render between storage and ffmpeg: the planned clips and tracks as local files (the files
 * themselves on the local driver, scratch copies on S3), the output written locally and then
 * stored under `outputKey`; the scratch files are gone afterwards, whatever happened.
 */
import { renderTimeline, type MediaProbe, type RenderTimelineRequest, type RenderTimelineResult } from '../media/index.js';
import type { LocalFile, Storage } from '../storage/index.js';
import { timelineOf, type RenderPlan } from './plan.js';

export async function renderStored(
  storage: Storage,
  input: {
    plan: RenderPlan; clipKeys: string[]; outputKey: string;
    /** Probes stored when the clips landed (clip_probes), by key: saves probing them again. */
    clipProbes?: Map<string, MediaProbe>;
  } & Omit<RenderTimelineRequest, 'clips' | 'tracks' | 'outPath'>,
): Promise<RenderTimelineResult> {
  const { plan, clipKeys, clipProbes, outputKey, ...options } = input;
  const inputs = await localInputs(storage, [...clipKeys, ...plan.tracks.map((t) => t.file_key)]);
  try {
    const timeline = timelineOf(plan, clipKeys, (key) => inputs.paths.get(key)!);
    timeline.clips.forEach((clip, i) => { clip.probe = clipProbes?.get(clipKeys[i]!); });
    return await storage.produce(outputKey, (outPath) => renderTimeline({
      ...timeline,
      ...options,
      outPath,
    }));
  } finally {
    await inputs.release();
  }
}

/** Local files for the render's inputs, one per distinct key. */
async function localInputs(storage: Storage, keys: string[]): Promise<{ paths: Map<string, string>; release(): Promise<void> }> {
  const files: LocalFile[] = [];
  const paths = new Map<string, string>();
  const release = async () => { await Promise.all(files.map((f) => f.release())); };
  try {
    for (const key of new Set(keys)) {
      const file = await storage.localCopy(key);
      files.push(file);
      paths.set(key, file.path);
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { paths, release };
}
