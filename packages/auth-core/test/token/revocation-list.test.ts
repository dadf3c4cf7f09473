import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { RevocationPage, RevokedKey } from '../../src/store/types.js'
import {
  createRevocationList,
  type RevocationList,
  type RevocationListOptions,
} from '../../src/token/revocation-list.js'

const T0 = Date.UTC(2025, 0, 15, 12)

/** An in-memory revocation feed with the store's cursor semantics and paging, and a call log. */
function createFeed(pageSize = Number.POSITIVE_INFINITY) {
  const entries: RevokedKey[] = []
  const calls: number[] = []
  let failure: Error | undefined
  return {
    entries,
    calls,
    delete(id: string, deletedAt: number) {
      entries.push({ id, deletedAt })
    },
    failWith(err: Error | undefined) {
      failure = err
    },
    source: async (cursor: number): Promise<RevocationPage> => {
      calls.push(cursor)
      if (failure) throw failure
      const revoked = entries.slice(cursor, cursor + pageSize)
      return { revoked, cursor: cursor + revoked.length, more: cursor + revoked.length < entries.length }
    },
  }
}

/** A promise with its resolve function, to hold a poll open. */
function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('createRevocationList()', () => {
  let clock: number
  let feed: ReturnType<typeof createFeed>
  const lists: RevocationList[] = []

  const create = async (options: Partial<RevocationListOptions> = {}) => {
    const list = await createRevocationList({
      source: feed.source,
      pollIntervalMs: 60_000,
      now: () => clock,
      ...options,
    })
    lists.push(list)
    return list
  }

  beforeEach(() => {
    clock = T0
    feed = createFeed()
  })

  afterEach(() => {
    for (const list of lists.splice(0)) list.stop()
    vi.useRealTimers()
  })

  describe('when created', () => {
    it('polls once from cursor 0 before it resolves', async () => {
      feed.delete('key_old', T0 - 1000)
      const list = await create()
      expect(feed.calls).toEqual([0])
      expect(list.isRevoked('key_old')).toBe(true)
      expect(list.isRevoked('key_other')).toBe(false)
      expect(list.size).toBe(1)
      expect(list.syncedAt).toBe(T0)
    })

    it('rejects with the error of a failing first poll', async () => {
      const failure = new Error('feed unavailable')
      feed.failWith(failure)
      await expect(create()).rejects.toBe(failure)
    })

    it.each([0, -1, 1.5, Number.NaN])(
      'throws a TypeError for pollIntervalMs %s',
      async (pollIntervalMs) => {
        await expect(create({ pollIntervalMs })).rejects.toThrow(TypeError)
        expect(feed.calls).toEqual([])
      },
    )
  })

  describe('sync()', () => {
    it('picks up a deletion, asking only for what is new', async () => {
      feed.delete('key_a', T0)
      const list = await create()
      feed.delete('key_b', T0 + 10)
      expect(list.isRevoked('key_b')).toBe(false)
      clock = T0 + 20
      await list.sync()
      expect(list.isRevoked('key_a')).toBe(true)
      expect(list.isRevoked('key_b')).toBe(true)
      expect(feed.calls).toEqual([0, 1])
      expect(list.syncedAt).toBe(T0 + 20)
    })

    it('reads a paged source page after page until it has caught up', async () => {
      feed = createFeed(2)
      for (const id of ['key_a', 'key_b', 'key_c', 'key_d', 'key_e']) feed.delete(id, T0)
      const list = await create()
      expect(['key_a', 'key_b', 'key_c', 'key_d', 'key_e'].map((id) => list.isRevoked(id))).toEqual([true, true, true, true, true])
      expect(feed.calls).toEqual([0, 2, 4])
      feed.delete('key_f', T0)
      await list.sync()
      expect(list.isRevoked('key_f')).toBe(true)
      expect(feed.calls).toEqual([0, 2, 4, 5])
    })

    it('ends a poll on a page that says more without moving the cursor', async () => {
      const source = vi.fn(async (cursor: number): Promise<RevocationPage> => ({ revoked: [{ id: 'key_x', deletedAt: T0 }], cursor, more: true }))
      const list = await create({ source })
      expect(list.isRevoked('key_x')).toBe(true)
      expect(source).toHaveBeenCalledTimes(1)
    })

    it('shares one source call between concurrent callers', async () => {
      const gate = deferred<RevocationPage>()
      let calls = 0
      const source = vi.fn(async (cursor: number) => {
        calls++
        return calls === 1 ? feed.source(cursor) : gate.promise
      })
      const shared = await create({ source })
      const first = shared.sync()
      const second = shared.sync()
      const third = shared.sync()
      expect(source).toHaveBeenCalledTimes(2)
      gate.resolve({ revoked: [{ id: 'key_x', deletedAt: T0 }], cursor: 1 })
      await Promise.all([first, second, third])
      expect(shared.isRevoked('key_x')).toBe(true)
      expect(source).toHaveBeenCalledTimes(2)
    })

    it('calls the source again once the shared poll has finished', async () => {
      const list = await create()
      await Promise.all([list.sync(), list.sync()])
      await list.sync()
      expect(feed.calls).toEqual([0, 0, 0])
    })

    it('rejects when the poll fails and keeps the last state and cursor', async () => {
      feed.delete('key_a', T0)
      const list = await create()
      feed.failWith(new Error('feed unavailable'))
      clock = T0 + 500
      await expect(list.sync()).rejects.toThrow('feed unavailable')
      expect(list.isRevoked('key_a')).toBe(true)
      expect(list.syncedAt).toBe(T0)
      feed.failWith(undefined)
      feed.delete('key_b', T0 + 600)
      await list.sync()
      expect(feed.calls).toEqual([0, 1, 1])
      expect(list.isRevoked('key_b')).toBe(true)
    })
  })

  describe('retention', () => {
    it('keeps an entry for retentionSeconds after the deletion, then prunes it on a poll (at most one pruning a second)', async () => {
      feed.delete('key_a', T0)
      const list = await create({ retentionSeconds: 60 })
      clock = T0 + 60_000
      await list.sync()
      expect(list.isRevoked('key_a')).toBe(true)
      // Past retention, but the last pruning was less than a second ago: kept a little longer.
      clock = T0 + 60_001
      await list.sync()
      expect(list.isRevoked('key_a')).toBe(true)
      clock = T0 + 61_000
      await list.sync()
      expect(list.isRevoked('key_a')).toBe(false)
      expect(list.size).toBe(0)
    })

    it('prunes only the entries that are past retention', async () => {
      feed.delete('key_a', T0 - 120_000)
      feed.delete('key_b', T0 - 30_000)
      const list = await create({ retentionSeconds: 60 })
      expect(list.isRevoked('key_a')).toBe(false)
      expect(list.isRevoked('key_b')).toBe(true)
      expect(list.size).toBe(1)
    })

    it('keeps entries for one day by default', async () => {
      feed.delete('key_a', T0)
      const list = await create()
      clock = T0 + 86_400_000
      await list.sync()
      expect(list.isRevoked('key_a')).toBe(true)
      clock = T0 + 86_401_000
      await list.sync()
      expect(list.isRevoked('key_a')).toBe(false)
    })
  })

  describe('background polling', () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    })

    it('polls every pollIntervalMs', async () => {
      const list = await create({ pollIntervalMs: 250 })
      feed.delete('key_a', T0)
      await vi.advanceTimersByTimeAsync(249)
      expect(list.isRevoked('key_a')).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(list.isRevoked('key_a')).toBe(true)
      await vi.advanceTimersByTimeAsync(1000)
      expect(feed.calls).toHaveLength(1 + 5)
    })

    it('polls every 100 ms by default', async () => {
      const list = await create({ pollIntervalMs: undefined })
      feed.delete('key_a', T0)
      await vi.advanceTimersByTimeAsync(99)
      expect(list.isRevoked('key_a')).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect(list.isRevoked('key_a')).toBe(true)
    })

    it('calls onError when a poll fails and keeps its state', async () => {
      feed.delete('key_a', T0)
      const onError = vi.fn()
      const list = await create({ pollIntervalMs: 250, onError })
      const failure = new Error('feed unavailable')
      feed.failWith(failure)
      clock = T0 + 250
      await vi.advanceTimersByTimeAsync(250)
      expect(onError).toHaveBeenCalledTimes(1)
      expect(onError).toHaveBeenCalledWith(failure)
      expect(list.isRevoked('key_a')).toBe(true)
      expect(list.syncedAt).toBe(T0)

      feed.failWith(undefined)
      feed.delete('key_b', T0 + 300)
      clock = T0 + 500
      await vi.advanceTimersByTimeAsync(250)
      expect(onError).toHaveBeenCalledTimes(1)
      expect(list.isRevoked('key_b')).toBe(true)
      expect(list.syncedAt).toBe(T0 + 500)
    })

    it('ignores a failing poll without onError', async () => {
      const list = await create({ pollIntervalMs: 250 })
      feed.failWith(new Error('feed unavailable'))
      await vi.advanceTimersByTimeAsync(1000)
      expect(feed.calls).toHaveLength(5)
      expect(list.size).toBe(0)
    })

    it('stops polling after stop()', async () => {
      const list = await create({ pollIntervalMs: 250 })
      await vi.advanceTimersByTimeAsync(250)
      expect(feed.calls).toHaveLength(2)
      list.stop()
      feed.delete('key_a', T0)
      await vi.advanceTimersByTimeAsync(10_000)
      expect(feed.calls).toHaveLength(2)
      expect(list.isRevoked('key_a')).toBe(false)
      expect(vi.getTimerCount()).toBe(0)
      list.stop()
    })

    it('still syncs on demand after stop()', async () => {
      const list = await create({ pollIntervalMs: 250 })
      list.stop()
      feed.delete('key_a', T0)
      await list.sync()
      expect(list.isRevoked('key_a')).toBe(true)
    })
  })
})
