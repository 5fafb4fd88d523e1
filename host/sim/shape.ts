// Object shapes for hot paths (not part of the package's API).
//
// V8 stores a number field in the kind of the first number written to it:
// a small integer, or a double. When a field that began with a small
// integer later receives a double it changes the shape of every object of
// that class and throws away all the optimised code that relied on the old
// shape. Cycle counts begin at 0 and become doubles on their own: wake
// times come from a Float64Array, and clocks outgrow V8's small integers
// in long runs.
// Before their fields began as doubles, that change came a few hundred runs
// into every explore and fuzz command and discarded about forty hot
// functions at once (a thread's clock is read almost everywhere); compiling
// them again kept the JIT's thread busy for much of a short command.

/** Stored in a number field that will hold doubles before its first
 *  value, in the constructor: the field has the double kind from the first
 *  object of its class on. Plain stores (a loop over the keys cost 1.4% of
 *  an explore's steady state). */
export const AS_DOUBLE = 0.5;
