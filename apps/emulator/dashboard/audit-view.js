/**
 * The Audit log view: the account's most recent key events, newest first.
 *
 * @module
 */
import { describeError } from './api.js'
import { byId, el, formatDate, timeCell } from './dom.js'

/** How many events the view asks for. */
export const AUDIT_LIMIT = 50

/** Event types in words. */
const EVENT_WORDS = {
  'key.created': 'Key created',
  'key.first_used': 'Key first used',
  'key.deleted': 'Key deleted',
  'auth.failed': 'Authentication failed',
}

/**
 * @typedef {{ id: number | string, keyId: string | null, type: string, at: string,
 *   detail: Record<string, unknown> | null }} AuditEvent
 */

/**
 * An event type in words; a type this page does not know yet reads as its words
 * (`key.last_used` → "Key last used").
 *
 * @param {string} type
 */
export function eventWords(type) {
  if (type in EVENT_WORDS) return EVENT_WORDS[/** @type {keyof typeof EVENT_WORDS} */ (type)]
  const words = type.replace(/[._]+/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

/**
 * The detail of an event as `name: value` pairs, with ISO dates in the reader's format.
 *
 * @param {Record<string, unknown> | null | undefined} detail
 */
function detailText(detail) {
  if (!detail || typeof detail !== 'object') return ''
  return Object.entries(detail)
    .map(([name, value]) => {
      if (typeof value !== 'string') return `${name}: ${JSON.stringify(value)}`
      return `${name}: ${ISO_DATE.test(value) ? formatDate(value) : value}`
    })
    .join(', ')
}

/**
 * Wires the view.
 *
 * @param {{ api: import('./api.js').Api, showError: (message: string | undefined) => void }} deps
 */
export function createAuditView({ api, showError }) {
  const heading = byId('audit-title')
  const empty = byId('audit-empty')
  const tableWrap = byId('audit-table-wrap')
  const body = byId('audit-body')
  let loads = 0

  async function load() {
    const sequence = ++loads
    try {
      /** @type {AuditEvent[]} */
      const events = await api.listAudit(AUDIT_LIMIT)
      if (sequence !== loads) return
      empty.hidden = events.length > 0
      tableWrap.hidden = events.length === 0
      // Newest first, whatever order the server keeps.
      const newestFirst = [...events].sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || Number(b.id) - Number(a.id))
      body.replaceChildren(...newestFirst.map(row))
      showError(undefined)
    } catch (err) {
      if (sequence === loads) showError(`The audit log could not be loaded: ${describeError(err)}`)
    }
  }

  /** @param {AuditEvent} event */
  function row(event) {
    return el(
      'tr',
      { attrs: { 'data-event-type': event.type } },
      el('td', {}, timeCell(event.at, '')),
      el('td', {}, eventWords(event.type)),
      el('td', {}, event.keyId ? el('code', {}, event.keyId) : el('span', { className: 'muted' }, 'None')),
      el('td', { className: 'detail' }, detailText(event.detail)),
    )
  }

  byId('audit-refresh').addEventListener('click', load)

  return { load, heading }
}
