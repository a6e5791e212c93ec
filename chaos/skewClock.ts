// A worker whose clock is off: preloaded (`node --import`) into one chaos worker process only, it shifts Date.
/**
 * Date.now() and `new Date()` in this process read BBS_CHAOS_CLOCK_SKEW_MS milliseconds off the real time, as on a
 * build machine whose clock drifted. Timers and performance.now() are untouched (a drifted wall clock does not
 * change how long a second lasts). Nothing but the chaos suite sets the variable or loads this file.
 */
export const SKEW_VARIABLE = 'BBS_CHAOS_CLOCK_SKEW_MS';

const skew = Number(process.env[SKEW_VARIABLE] ?? 0);
if (Number.isFinite(skew) && skew !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + skew);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return realNow() + skew;
    }
  }
  globalThis.Date = SkewedDate as DateConstructor;
}
