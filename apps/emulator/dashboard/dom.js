/**
 * Small DOM helpers shared by the views. Text always goes in through `textContent`, never as
 * HTML, so a key or Pop name can't inject markup.
 *
 * @module
 */

/** The longest name of a key or a Pop, as the server enforces it. */
export const NAME_MAX_LENGTH = 100

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/**
 * The element with `id`; throws when the page lacks it, so a renamed id fails loudly.
 *
 * @param {string} id
 * @returns {any}
 */
export function byId(id) {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing from the page`)
  return element
}

/**
 * Creates an element with optional class and children (strings become text).
 *
 * @param {string} tag
 * @param {{ className?: string, attrs?: Record<string, string> }} [options]
 * @param {...(Node | string)} children
 */
export function el(tag, options = {}, ...children) {
  const element = document.createElement(tag)
  if (options.className) element.className = options.className
  for (const [name, value] of Object.entries(options.attrs ?? {})) element.setAttribute(name, value)
  element.append(...children)
  return element
}

/**
 * An ISO date in the reader's locale, e.g. "Nov 27, 2026, 12:32 AM".
 *
 * @param {string} iso
 */
export function formatDate(iso) {
  return dateFormat.format(new Date(iso))
}

/**
 * A `<time>` for an ISO date, or `fallback` when there is none.
 *
 * @param {string | null | undefined} iso
 * @param {string} [fallback]
 */
export function timeCell(iso, fallback = 'Never') {
  if (!iso) return el('span', { className: 'muted' }, fallback)
  return el('time', { attrs: { datetime: iso, title: iso } }, formatDate(iso))
}

/**
 * Why `name` is not a valid key or Pop name, or `undefined` when it is. The same rules as the
 * server's (trimmed, not empty, at most 100 characters, no control characters), checked here too
 * so the form answers at once.
 *
 * @param {string} name
 */
export function nameProblem(name) {
  const trimmed = name.trim()
  if (trimmed.length === 0) return 'Enter a name.'
  if (trimmed.length > NAME_MAX_LENGTH) {
    return `The name must be at most ${NAME_MAX_LENGTH} characters (it has ${trimmed.length}).`
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return 'The name must not contain control characters.'
  return undefined
}

/**
 * Shows or clears the inline error of a form field: the message goes in the field's error element
 * (already named by its `aria-describedby`) and the field is marked `aria-invalid`.
 *
 * @param {HTMLInputElement} input
 * @param {HTMLElement} error
 * @param {string | undefined} message
 */
export function setFieldError(input, error, message) {
  error.textContent = message ?? ''
  error.hidden = !message
  if (message) input.setAttribute('aria-invalid', 'true')
  else input.removeAttribute('aria-invalid')
}

/**
 * Copies `text` to the clipboard: the Clipboard API first, then the older `execCommand` on a
 * selected field as a fallback. Resolves to whether it worked.
 *
 * @param {string} text
 * @param {HTMLInputElement} [field] a field holding `text`, for the fallback
 */
export async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    if (!field) return false
    field.select()
    return document.execCommand('copy')
  }
}
