import type { Db } from '../../src/db/knex.js';

/**
 * A real database-side failure for one job's completion: a trigger that aborts any UPDATE marking
 * a job succeeded when its payload is the JSON string "poison". Every other statement, and every
 * other job's completion, goes through. Returns the function that removes it.
 */
export async function poisonCompletions(db: Db): Promise<() => Promise<void>> {
  if (db.client.config.client === 'pg') {
    await db.raw(`create function poisoned_completion() returns trigger language plpgsql as $$
      begin
        if new.status = 'succeeded' and new.payload = '"poison"' then raise exception 'poisoned completion'; end if;
        return new;
      end $$`);
    await db.raw('create trigger poisoned_completion before update on jobs for each row execute function poisoned_completion()');
    return async () => {
      await db.raw('drop trigger poisoned_completion on jobs');
      await db.raw('drop function poisoned_completion()');
    };
  }
  await db.raw(`create trigger poisoned_completion before update of status on jobs
    when new.status = 'succeeded' and new.payload = '"poison"'
    begin select raise(abort, 'poisoned completion'); end`);
  return async () => { await db.raw('drop trigger poisoned_completion'); };
}
