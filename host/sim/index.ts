// host/sim: the deterministic multi-CPU machine. See machine.ts for the
// model (threads, time, interrupts, deadlock), lock.ts for spinlocks,
// lockdep.ts for lock-order checking, sched.ts for schedulers and the
// bounded explorer, trace.ts for traces, profile.ts for cost profiles.

export * from "./api.ts";
export * from "./rng.ts";
export * from "./profile.ts";
export * from "./lockdep.ts";
export * from "./trace.ts";
export * from "./sched.ts";
export * from "./lock.ts";
export * from "./machine.ts";
