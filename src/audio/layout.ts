/**
 * The audio layout of a workflow, as pure data: where each clip sits on the final video, where each
 * track starts and how much of it is heard, and the audible segments in playback order. The same
 * computation answers get_workflow_audio and freezes a render's plan, so what the user reads is
 * what the render mixes.
 */

export type TrackKind = 'music' | 'voice' | 'sfx';

export interface NativeAudioSetting {
  enabled: boolean;
  volume_db: number;
}

export const DEFAULT_NATIVE: NativeAudioSetting = { enabled: true, volume_db: 0 };

/** The settings of an attached track that a caller may set. */
export interface TrackFields {
  kind: TrackKind;
  volume_db: number;
  offset_s: number;
  trim_start_s: number;
  trim_end_s: number | null;
  fade_in_s: number;
  fade_out_s: number;
}

/** A track as stored, with what the layout needs of its asset. */
export interface TrackInput extends TrackFields {
  id: string;
  workflow_id: string;
  clip_id: string;
  asset_id: string;
  created_at: string;
  updated_at: string;
  /** Storage key of the asset's file. */
  file_key: string;
  /** Length of the asset's audio, when known. */
  asset_duration_s: number | null;
}

export interface ClipInput {
  clip_id: string;
  index: number;
  duration_s: number;
  native: NativeAudioSetting;
}

export interface LayoutTrack extends TrackInput {
  /** Where the track starts on the final video. */
  starts_at_s: number;
  /** Seconds of it that are heard (0: it starts after the end of the video). */
  heard_s: number;
}

export interface LayoutClip {
  clip_id: string;
  index: number;
  native_audio: NativeAudioSetting;
  tracks: LayoutTrack[];
  starts_at_s: number;
  duration_s: number;
}

export interface TimelineSegment {
  start_s: number;
  end_s: number;
  clip_id: string;
  source: 'native' | 'track';
  track_id: string | null;
  kind: 'native' | TrackKind;
  volume_db: number;
}

export interface AudioLayout {
  duration_s: number;
  clips: LayoutClip[];
  timeline: TimelineSegment[];
}

/** Millisecond precision is plenty for placement and keeps sums free of float noise. */
export const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** How long a track plays before the video ends (never negative). */
export function heardSeconds(t: Pick<TrackInput, 'trim_start_s' | 'trim_end_s' | 'asset_duration_s'>, startsAtS: number, totalS: number): number {
  const sourceEnd = Math.min(t.trim_end_s ?? Infinity, t.asset_duration_s ?? Infinity);
  const available = Number.isFinite(sourceEnd) ? sourceEnd - t.trim_start_s : Infinity;
  return Math.max(0, round3(Math.min(available, totalS - startsAtS)));
}

export function buildLayout(clips: ClipInput[], tracks: TrackInput[]): AudioLayout {
  const ordered = [...clips].sort((a, b) => a.index - b.index);
  const totalS = round3(ordered.reduce((s, c) => s + c.duration_s, 0));
  const startOf = new Map<string, number>();
  let at = 0;
  for (const c of ordered) {
    startOf.set(c.clip_id, round3(at));
    at += c.duration_s;
  }
  const byClip = new Map<string, LayoutTrack[]>();
  for (const t of tracks) {
    const clipStart = startOf.get(t.clip_id);
    if (clipStart === undefined) continue; // its clip is gone (the row is being deleted with it)
    const startsAt = round3(clipStart + t.offset_s);
    const list = byClip.get(t.clip_id) ?? [];
    list.push({ ...t, starts_at_s: startsAt, heard_s: heardSeconds(t, startsAt, totalS) });
    byClip.set(t.clip_id, list);
  }
  const layoutClips: LayoutClip[] = ordered.map((c) => ({
    clip_id: c.clip_id,
    index: c.index,
    native_audio: c.native,
    tracks: byClip.get(c.clip_id) ?? [],
    starts_at_s: startOf.get(c.clip_id)!,
    duration_s: c.duration_s,
  }));

  const segments: (TimelineSegment & { order: number })[] = [];
  for (const c of layoutClips) {
    if (c.native_audio.enabled && c.duration_s > 0) {
      segments.push({
        start_s: c.starts_at_s, end_s: round3(c.starts_at_s + c.duration_s), clip_id: c.clip_id,
        source: 'native', track_id: null, kind: 'native', volume_db: c.native_audio.volume_db, order: 0,
      });
    }
    for (const t of c.tracks) {
      if (t.heard_s <= 0) continue;
      segments.push({
        start_s: t.starts_at_s, end_s: round3(t.starts_at_s + t.heard_s), clip_id: c.clip_id,
        source: 'track', track_id: t.id, kind: t.kind, volume_db: t.volume_db, order: 1,
      });
    }
  }
  // Playback order; at the same instant the clip's own sound first, then tracks as attached.
  const timeline = segments
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.start_s - b.s.start_s || a.s.order - b.s.order || a.i - b.i)
    .map(({ s: { order: _order, ...seg } }) => seg);
  return { duration_s: totalS, clips: layoutClips, timeline };
}
