/**
 * The audio model of a workflow: per clip native sound and attached tracks (store.ts), laid out
 * on the final video's timeline (layout.ts). Renders freeze this layout into their plan.
 */
export type { LayoutClip, LayoutTrack } from './layout.js';
export {
  attachTrack, detachTrack, loadAudioLayout, setNativeAudio, updateTrack, type WorkflowAudioLayout,
} from './store.js';
