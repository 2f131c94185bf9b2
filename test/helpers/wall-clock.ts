/**
 * Steps this process's wall clock as settimeofday does: Date.now() and `new Date()` move by
 * `ms`, the monotonic clock (performance.now()) does not. `restoreWallClock` puts it back. (The
 * same for a child process: the preload test/helpers/clock-step.mjs.)
 */
const RealDate = Date;

export function stepWallClock(ms: number): void {
  class SteppedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(RealDate.now() + ms);
      else super(...(args as ConstructorParameters<DateConstructor>));
    }
    static override now(): number { return RealDate.now() + ms; }
  }
  globalThis.Date = SteppedDate as DateConstructor;
}

export function restoreWallClock(): void {
  globalThis.Date = RealDate;
}
