/** A clock: milliseconds since the epoch. Injected so tests can move time. */
export type Clock = () => number

/** The system clock. */
export const systemClock: Clock = () => Date.now()

/** Whole seconds since the epoch for a clock reading. */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000)
}
