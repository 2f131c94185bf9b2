import type { GenerateHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { stubSlice } from './stub.js';

/** STUB: every generate operation answers 501 not_implemented until its owner replaces this module. */
export const generateHandlers = stubSlice(['estimate_cost', 'generate_scene', 'get_generation_status']) satisfies GenerateHandlers<AppContext>;
