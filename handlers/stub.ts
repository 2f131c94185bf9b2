import { NotImplementedError } from '../src/http/errors.js';

/**
 * A slice of handlers that all answer 501 `not_implemented`, for tags whose owner has not
 * landed them yet. `stubSlice(['a', 'b'])` satisfies any slice with exactly those operations.
 */
export function stubSlice<const K extends string>(operationIds: readonly K[]): { [P in K]: () => Promise<never> } {
  const slice = {} as { [P in K]: () => Promise<never> };
  for (const id of operationIds) {
    slice[id] = async () => {
      throw new NotImplementedError(id);
    };
  }
  return slice;
}
