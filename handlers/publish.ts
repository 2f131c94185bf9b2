import type { PublishHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { stubSlice } from './stub.js';

/** STUB: every publish operation answers 501 not_implemented until its owner replaces this module. */
export const publishHandlers = stubSlice(['list_channels', 'connect_channel', 'publish_video', 'get_publication', 'cancel_publication']) satisfies PublishHandlers<AppContext>;
