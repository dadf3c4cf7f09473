/**
 * The part of autocannon 9's API the load worker uses (autocannon ships no types).
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  interface AutocannonRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
    setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest
    /** Called with every answer to this request, before the instance's `response` event for it. */
    onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[]>) => void
  }

  interface AutocannonOptions {
    url: string
    connections?: number
    duration?: number
    pipelining?: number
    timeout?: number
    /** Milliseconds between samples; a run stops at the first sample after its duration. */
    sampleInt?: number
    requests?: AutocannonRequest[]
    /** Requests per second over all connections, sent as a quota per connection per second. */
    overallRate?: number
  }

  interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p97_5: number
    p99: number
  }

  interface AutocannonResult {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
    latency: Histogram
    requests: Histogram & { sent: number }
    start: Date
    finish: Date
  }

  type Callback = (err: Error | null, result: AutocannonResult) => void

  function autocannon(options: AutocannonOptions, callback: Callback): EventEmitter

  export default autocannon
  export type { AutocannonOptions, AutocannonRequest, AutocannonResult }
}
