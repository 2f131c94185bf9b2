import { randomText } from '../util/ids.js';

/**
 * Ids for reservations and ledger entries that sort by creation time: the prefix, the time in
 * milliseconds (9 characters of an alphabet in ASCII order), then 12 random bytes (96 bits, still
 * unguessable). Each of these ids is a key of an index (reservations.id, ledger_entries.id and
 * (reservation_id, kind)); with random ids every insert wrote a different leaf page of each, with
 * ids in time order the inserts of a moment share the last page, so a group of moves committed
 * together (src/db/sqlite-group.ts) writes a few pages instead of a few per move.
 */
export function ledgerId(prefix: 'rsv' | 'led', now: number = Date.now()): string {
  return `${prefix}_${now.toString(32).padStart(9, '0')}${randomText(12)}`;
}
