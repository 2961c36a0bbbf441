import { type TSchema, Type } from "@sinclair/typebox";

/** Schemas of a sync run's live progress and its approval wait (used by the Run schema). */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const RunProgress = Type.Object(
  {
    phase: Nullable(
      Type.Union([Type.Literal("planning"), Type.Literal("writing")], {
        description: "planning: reading the PSA and matching devices; writing: carrying out the plan",
      }),
    ),
    done: Type.Integer({ description: "Devices done in the phase so far" }),
    total: Nullable(
      Type.Integer({ description: "Devices the run considers (known at its start); null before" }),
    ),
    phaseStartedAt: Nullable(
      Type.String({ description: "When the phase began: the rate is done over the time since" }),
    ),
  },
  { description: "Where the run is; saved as it goes, so a running run's row shows live numbers" },
);

/** Fields of a run beside its counts: progress, the approval wait and the duration without it. */
export const RunTiming = {
  progress: RunProgress,
  waitedMs: Type.Integer({ description: "Milliseconds the run waited for approval (ended waits)" }),
  heldAt: Nullable(Type.String({ description: "Since when the run waits for approval" })),
  pausedUntil: Nullable(
    Type.String({
      description:
        "A running run paused at the PSA's hourly API budget goes on by itself at this time; null when not paused",
    }),
  ),
  durationMs: Nullable(
    Type.Integer({ description: "Finished − started − waited for approval; null until finished" }),
  ),
};
