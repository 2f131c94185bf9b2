import type { AssetsHandlers } from '../generated/handlers.gen.js';
import type { AppContext } from '../src/http/context.js';
import { stubSlice } from './stub.js';

/** STUB: every assets operation answers 501 not_implemented until its owner replaces this module. */
export const assetsHandlers = stubSlice(['import_asset', 'create_upload', 'put_upload', 'get_asset']) satisfies AssetsHandlers<AppContext>;
