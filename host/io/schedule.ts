// A schedule read from a file (a fuzz finding, a counterexample) replayed
// with a record of whether it fit the run: a schedule cut short, naming a
// thread that cannot run, or with decisions left over is a bad file, which
// the commands report as an input error, not as a different result.

import { ReplayError, Sched, type Schedule, type Scheduler } from "../sim/sched.ts";

export interface CheckedReplay {
  scheduler: Scheduler;
  /** why the schedule did not fit the run, or null; call after the run,
   *  with the decisions the run made */
  misfit(made: number, finished: boolean): string | null;
}

export function checkedReplay(schedule: Schedule): CheckedReplay {
  const inner = Sched.replay(schedule);
  const recorded = schedule.picks.length;
  let failure: ReplayError | null = null;
  return {
    scheduler: {
      name: inner.name,
      pick(enabled, state) {
        try {
          return inner.pick(enabled, state);
        } catch (e) {
          if (e instanceof ReplayError) failure = e;
          throw e;
        }
      },
    },
    misfit(made: number, finished: boolean): string | null {
      const f = failure as ReplayError | null;
      if (f !== null) return f.message;
      if (finished && made !== recorded) return `the run made ${made} decisions, the schedule has ${recorded}`;
      return null;
    },
  };
}
