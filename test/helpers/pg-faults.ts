import type { Knex } from 'knex';

/**
 * Makes PostgreSQL refuse the first UPDATE of `table` whose new row matches `when` (SQL over
 * `new`), as a server shutting down does: SQLSTATE 57P01, what the driver reports when the
 * database goes away mid-statement. Later matching updates go through. `name` keeps the trigger,
 * function and counter of each use apart.
 */
export async function refuseFirstUpdate(db: Knex, name: string, table: string, when: string): Promise<void> {
  await db.raw(`
    create sequence ${name}_failures;
    create function ${name}() returns trigger language plpgsql as $$
    begin
      if (${when}) and nextval('${name}_failures') = 1 then
        raise exception 'terminating connection due to administrator command' using errcode = '57P01';
      end if;
      return new;
    end $$;
    create trigger ${name} before update on ${table} for each row execute function ${name}();
  `);
}
