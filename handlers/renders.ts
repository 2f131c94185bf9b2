import type { RendersHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { stubSlice } from './stub.js';

/** STUB: every renders operation answers 501 not_implemented until its owner replaces this module. */
export const rendersHandlers = stubSlice(['list_renders', 'create_render', 'get_render', 'update_render', 'list_all_renders']) satisfies RendersHandlers<AppContext>;
