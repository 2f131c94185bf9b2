/**
 * A render's plan: the clips in playback order and the audio layout, frozen when the render is
 * created. A render therefore reflects the workflow (and its audio) as it was then, whatever is
 * edited while it runs. A clip without `clip_key` is made by the render's generation.
 */
import type { WorkflowAudioLayout } from '../audio/index.js';
import type { TimelineClip, TimelineTrack } from '../media/index.js';

export interface PlanClip {
  node_id: string;
  index: number;
  duration_s: number;
  /** The clip reused as is; null when the render's generation makes it. */
  clip_key: string | null;
  native: { enabled: boolean; volume_db: number };
}

export interface PlanTrack {
  id: string;
  clip_id: string;
  asset_id: string;
  file_key: string;
  kind: string;
  volume_db: number;
  /** On the final video. */
  starts_at_s: number;
  trim_start_s: number;
  trim_end_s: number | null;
  fade_in_s: number;
  fade_out_s: number;
}

export interface RenderPlan {
  duration_s: number;
  clips: PlanClip[];
  tracks: PlanTrack[];
}

/** Freezes the layout; `reuse(nodeId)` gives the clip a scene already has (or null). */
export function planFrom(layout: WorkflowAudioLayout, reuse: (nodeId: string) => string | null): RenderPlan {
  return {
    duration_s: layout.duration_s,
    clips: layout.clips.map((c) => ({
      node_id: c.clip_id, index: c.index, duration_s: c.duration_s, clip_key: reuse(c.clip_id), native: { ...c.native_audio },
    })),
    tracks: layout.clips.flatMap((c) => c.tracks.filter((t) => t.heard_s > 0).map((t) => ({
      id: t.id, clip_id: c.clip_id, asset_id: t.asset_id, file_key: t.file_key, kind: t.kind, volume_db: t.volume_db,
      starts_at_s: t.starts_at_s, trim_start_s: t.trim_start_s, trim_end_s: t.trim_end_s, fade_in_s: t.fade_in_s, fade_out_s: t.fade_out_s,
    }))),
  };
}

/**
 * The media library's timeline for a plan whose every clip is known (`clipKeys` in plan order);
 * `pathOf` gives the local file of a stored key.
 */
export function timelineOf(plan: RenderPlan, clipKeys: string[], pathOf: (key: string) => string): { clips: TimelineClip[]; tracks: TimelineTrack[] } {
  return {
    clips: plan.clips.map((c, i) => ({
      path: pathOf(clipKeys[i]!),
      durationS: c.duration_s,
      nativeAudio: { enabled: c.native.enabled, volumeDb: c.native.volume_db },
    })),
    tracks: plan.tracks.map((t) => ({
      path: pathOf(t.file_key),
      volumeDb: t.volume_db,
      offsetS: t.starts_at_s,
      trimStartS: t.trim_start_s,
      ...(t.trim_end_s !== null ? { trimEndS: t.trim_end_s } : {}),
      fadeInS: t.fade_in_s,
      fadeOutS: t.fade_out_s,
    })),
  };
}
