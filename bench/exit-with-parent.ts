/**
 * For the bench's server processes: exit (so their 'exit' handlers remove their databases) on
 * SIGINT or SIGTERM, and when the process that started them is gone. A bench killed by `timeout` or
 * `kill` otherwise left its servers running as orphans, each with its database on tmpfs (hundreds of
 * MB of memory found on this machine after a day of benches).
 */
export function exitWithParent(): void {
  process.once('SIGINT', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
  const parent = process.ppid;
  // Once a second: an orphan is re-parented (to init or a subreaper), and its ppid changes.
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1_000).unref();
}
