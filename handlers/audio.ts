import type { AudioHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { stubSlice } from './stub.js';

/** STUB: every audio operation answers 501 not_implemented until its owner replaces this module. */
export const audioHandlers = stubSlice(['get_workflow_audio', 'set_clip_native_audio', 'attach_track', 'detach_track', 'update_track']) satisfies AudioHandlers<AppContext>;
