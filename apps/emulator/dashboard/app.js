/**
 * The EyePop emulator's dashboard: one page (served for `/dashboard`, `/dashboard/keys`,
 * `/dashboard/pops` and `/dashboard/audit`) that shows one view per path and switches views with
 * the History API. No build step: plain ES modules, served as they are under `/dashboard/assets/`.
 *
 * On start it asks `GET /api/v1/session` who is signed in and for the session's CSRF token; a 401
 * sends the browser back to `/dashboard`, which asks it to sign in.
 *
 * @module
 */
import { createApi, describeError } from './api.js'
import { createAuditView } from './audit-view.js'
import { byId } from './dom.js'
import { createKeysView } from './keys-view.js'
import { createMenu } from './menu.js'
import { createPopsView } from './pops-view.js'

/** The views by name, with their title and path. */
const VIEWS = {
  keys: { title: 'API Keys', path: '/dashboard/keys' },
  pops: { title: 'Pops', path: '/dashboard/pops' },
  audit: { title: 'Audit log', path: '/dashboard/audit' },
}

/** @typedef {keyof typeof VIEWS} ViewName */

/**
 * The view of a path; `/dashboard` itself opens on the API Keys.
 *
 * @param {string} pathname
 * @returns {ViewName}
 */
function viewOf(pathname) {
  const name = pathname.replace(/\/+$/, '').split('/')[2]
  return name === 'pops' || name === 'audit' ? name : 'keys'
}

const notice = byId('notice')
const pageError = byId('page-error')

/** @param {string} message announced politely in the status area */
function notify(message) {
  notice.textContent = message
}

/** @param {string | undefined} message shown (and announced) in the alert area, or cleared */
function showError(message) {
  pageError.textContent = message ?? ''
  pageError.hidden = !message
}

const api = createApi({
  onSignedOut() {
    // The session has ended: the page itself redirects to the sign-in.
    window.location.assign('/dashboard')
  },
})

const views = {
  keys: createKeysView({ api, notify, showError }),
  pops: createPopsView({ api, notify, showError }),
  audit: createAuditView({ api, showError }),
}
const menu = createMenu(byId('menu-button'), byId('main-menu'))

/**
 * Shows a view and loads its data.
 *
 * @param {ViewName} name
 * @param {{ focus: boolean }} options `focus` moves focus to the view's heading (after a choice
 *   in the menu, so keyboard and screen-reader users land on the new content)
 */
async function show(name, options) {
  for (const key of /** @type {ViewName[]} */ (Object.keys(VIEWS))) {
    byId(`view-${key}`).hidden = key !== name
  }
  for (const link of document.querySelectorAll('[data-view-link]')) {
    if (link.getAttribute('data-view-link') === name) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  document.title = `${VIEWS[name].title} · EyePop dashboard`
  showError(undefined)
  if (options.focus) views[name].heading.focus()
  await views[name].load()
}

document.addEventListener('click', (event) => {
  const link = /** @type {Element} */ (event.target).closest?.('a[data-view-link]')
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  event.preventDefault()
  const name = /** @type {ViewName} */ (link.getAttribute('data-view-link'))
  menu.close(false)
  notify('')
  if (window.location.pathname !== VIEWS[name].path) window.history.pushState({}, '', VIEWS[name].path)
  show(name, { focus: true })
})

window.addEventListener('popstate', () => show(viewOf(window.location.pathname), { focus: true }))

async function start() {
  try {
    const session = await api.session()
    const account = byId('account')
    account.textContent = `Signed in as ${session.account.email}`
    account.hidden = false
    byId('logout-csrf').value = session.csrfToken ?? ''
  } catch (err) {
    showError(`The dashboard could not start: ${describeError(err)}`)
    return
  }
  await show(viewOf(window.location.pathname), { focus: false })
}

start()
