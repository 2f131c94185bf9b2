import type { ReviewHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { stubSlice } from './stub.js';

/** STUB: every review operation answers 501 not_implemented until its owner replaces this module. */
export const reviewHandlers = stubSlice(['quality_check', 'get_scene_frame']) satisfies ReviewHandlers<AppContext>;
