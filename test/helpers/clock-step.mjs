// A preload (`node --import`) that steps this process's wall clock as a machine's clock steps
// (an NTP correction, an operator's `date -s`): on each SIGUSR2, Date.now() and `new Date()`
// move by CLOCK_STEP_MS (negative: backwards) and `clock stepped` is printed. The monotonic clock
// (performance.now()) does not move, as it does not on a real step. Starting unskewed lets the
// process pass the start-up clock check first.
const RealDate = Date;
let offsetMs = 0;
class SteppedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offsetMs);
    else super(...args);
  }
  static now() { return RealDate.now() + offsetMs; }
}
globalThis.Date = SteppedDate;
process.on('SIGUSR2', () => {
  offsetMs += Number(process.env.CLOCK_STEP_MS ?? 60_000);
  process.stdout.write('clock stepped\n');
});
