/**
 * The emulator's clock for tests: real time plus an offset that tests move forward.
 *
 * @module
 */
import type { Clock } from '@eyepop/auth-core'

/** A clock that tests move forward (see {@link createVirtualClock}). */
export interface VirtualClock {
  /** The emulator's time now (ms since the epoch). */
  readonly now: Clock
  /** Whether {@link advance} moves the emulator's time (false: real time). */
  readonly virtual: boolean
  /**
   * Moves the emulator's time forward by `seconds`: every expiry the emulator decides (access
   * tokens, temporary keys, API keys, compute sessions, dashboard sessions, revocation retention)
   * is seen as that much nearer.
   *
   * @throws {TypeError} when `seconds` is not a finite number of at least 0, or the clock is real
   */
  advance(seconds: number): void
}

/**
 * A clock for the emulator: `virtual`, real time plus an offset that {@link VirtualClock.advance}
 * moves forward (time still flows between advances, so timeouts and clients' own clocks stay
 * plausible); or real time (`virtual: false`), which refuses to be advanced.
 */
export function createVirtualClock({ virtual = true }: { virtual?: boolean } = {}): VirtualClock {
  let offsetMs = 0
  return {
    now: virtual ? () => Date.now() + offsetMs : Date.now,
    virtual,
    advance(seconds) {
      if (!virtual) throw new TypeError("the clock is real: start the emulator with clock: 'virtual' to advance it")
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
        throw new TypeError('seconds must be a finite number of at least 0')
      }
      offsetMs += Math.round(seconds * 1000)
    },
  }
}
