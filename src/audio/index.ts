/**
 * The audio model of a workflow: per clip native sound and attached tracks (store.ts), laid out
 * on the final video's timeline (layout.ts). Renders freeze this layout into their plan.
 */
export {
  buildLayout, heardSeconds, round3, DEFAULT_NATIVE,
  type AudioLayout, type ClipInput, type LayoutClip, type LayoutTrack, type NativeAudioSetting,
  type TimelineSegment, type TrackInput, type TrackKind,
} from './layout.js';
export { attachTrack, detachTrack, loadAudioLayout, setNativeAudio, updateTrack, type TrackFields, type WorkflowAudioLayout } from './store.js';
