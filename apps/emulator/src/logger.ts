import { pino, type Logger } from 'pino'

/**
 * Paths that are never logged: credentials in headers and bodies. pino replaces them with
 * `[redacted]` so a secret cannot reach a log line even when a whole request is logged.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'secret_key',
  'subject_token',
  'access_token',
  'key',
  'apiKey',
  '*.secret_key',
  '*.subject_token',
  '*.access_token',
  '*.key',
  '*.apiKey',
]

/** The emulator's logger: JSON lines to stderr, secrets redacted. */
export function createLogger(level: string): Logger {
  return pino(
    {
      name: 'eyepop-emulator',
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    pino.destination(2),
  )
}
