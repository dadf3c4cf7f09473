/**
 * jose, loaded on first use rather than with auth-core: it is ≈ 50 files, and most users of the
 * key functions (a CLI that lists or deletes keys, a process that only issues tokens) never
 * verify a token. Loading it takes ≈ 50 ms, a third of such a command's start.
 *
 * @module
 */

/** The jose module. */
export type Jose = typeof import('jose')

let loading: Promise<Jose> | undefined

/** jose, imported once; later calls resolve the same module. */
export function loadJose(): Promise<Jose> {
  // A failed import is not kept: the next call tries again.
  loading ??= import('jose').catch((err: unknown) => {
    loading = undefined
    throw err
  })
  return loading
}
