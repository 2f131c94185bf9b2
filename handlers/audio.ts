/**
 * Audio: each clip's native sound and the tracks laid over the video. Changes are free and heard
 * in the next render (a render freezes the layout when it is created).
 */
import type { AudioHandlers } from '../generated/handlers.gen.js';
import type * as T from '../generated/types.gen.js';
import {
  attachTrack, detachTrack, loadAudioLayout, setNativeAudio, updateTrack,
  type LayoutClip, type LayoutTrack, type WorkflowAudioLayout,
} from '../src/audio/index.js';
import { ApiError } from '../src/http/errors.js';
import type { AppContext } from '../src/http/context.js';
import { keyedWriteWithin } from '../src/http/keyed-write.js';

function trackView(t: LayoutTrack): T.Track {
  return {
    id: t.id, workflow_id: t.workflow_id, clip_id: t.clip_id, asset_id: t.asset_id, kind: t.kind,
    volume_db: t.volume_db, offset_s: t.offset_s, trim_start_s: t.trim_start_s, trim_end_s: t.trim_end_s,
    fade_in_s: t.fade_in_s, fade_out_s: t.fade_out_s, starts_at_s: t.starts_at_s,
    created_at: t.created_at, updated_at: t.updated_at,
  };
}

function clipView(c: LayoutClip): T.ClipAudio {
  return {
    clip_id: c.clip_id, index: c.index, native_audio: { ...c.native_audio }, tracks: c.tracks.map(trackView),
    starts_at_s: c.starts_at_s, duration_s: c.duration_s,
  };
}

function audioView(layout: WorkflowAudioLayout): T.WorkflowAudio {
  return { workflow_id: layout.workflow.id, duration_s: layout.duration_s, clips: layout.clips.map(clipView), timeline: layout.timeline };
}

function findTrack(layout: WorkflowAudioLayout, trackId: string): LayoutTrack {
  for (const c of layout.clips) for (const t of c.tracks) if (t.id === trackId) return t;
  // Only if its clip vanished between the write and this read.
  throw new ApiError('not_found', `No track with id '${trackId}' exists in this workflow.`, { resource: 'track', id: trackId });
}

export const audioHandlers = {
  async get_workflow_audio(input, ctx) {
    const layout = await loadAudioLayout(ctx.db, ctx.account.id, input.path.id);
    return { status: 200, body: audioView(layout) };
  },

  async set_clip_native_audio(input, ctx) {
    const { id, clip_id } = input.path;
    await setNativeAudio(ctx.db, ctx.account.id, id, clip_id, input.body);
    const layout = await loadAudioLayout(ctx.db, ctx.account.id, id);
    return { status: 200, body: clipView(layout.clips.find((c) => c.clip_id === clip_id)!) };
  },

  async attach_track(input, ctx) {
    const { id, clip_id } = input.path;
    const trackId = await keyedWriteWithin(ctx, (recordIn) => attachTrack(ctx.db, ctx.services.storage, ctx.account.id, id, clip_id, input.body, recordIn), {
      find: async (made) => made,
    });
    const layout = await loadAudioLayout(ctx.db, ctx.account.id, id);
    return { status: 201, body: trackView(findTrack(layout, trackId)) };
  },

  async update_track(input, ctx) {
    const { id, track_id } = input.path;
    await updateTrack(ctx.db, ctx.account.id, id, track_id, input.body);
    const layout = await loadAudioLayout(ctx.db, ctx.account.id, id);
    return { status: 200, body: trackView(findTrack(layout, track_id)) };
  },

  async detach_track(input, ctx) {
    await detachTrack(ctx.db, ctx.account.id, input.path.id, input.path.track_id);
    return { status: 204 };
  },
} satisfies AudioHandlers<AppContext>;
