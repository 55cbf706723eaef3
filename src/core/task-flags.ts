/**
 * The bits of `Task._flags`: the state of a task made from running work, or started eagerly
 * (`adopt.ts`, `Task._eager`). Every other task has no flag set.
 *
 * @module
 */

/** In its first (eager) step. @internal */
export const F_FIRST_STEP = 1;
/** To be cancelled when its first step ends (waitFor with `ms <= 0`: CPython cancels after the eager step). @internal */
export const F_CANCEL_AFTER = 2;
/** Holds virtual time until its work awaits something of ours. @internal */
export const F_HOLDING = 4;
/** Its work has awaited something of ours. @internal */
export const F_AWAITED = 8;
/** Counted by the loop as an eager step in progress (`EventLoop._beginAdoptedStep`). @internal */
export const F_EAGER = 16;
