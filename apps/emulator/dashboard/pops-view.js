/**
 * The Pops view: the account's Pops, each with its id to copy, and a form to create one.
 *
 * @module
 */
import { ApiError, describeError } from './api.js'
import { byId, copyText, el, nameProblem, setFieldError, timeCell } from './dom.js'

/** @typedef {{ id: string, name: string, createdAt: string }} PopView */

/**
 * Wires the view.
 *
 * @param {{ api: import('./api.js').Api, notify: (message: string) => void,
 *   showError: (message: string | undefined) => void }} deps
 */
export function createPopsView({ api, notify, showError }) {
  const heading = byId('pops-title')
  const form = byId('pop-form')
  const nameInput = byId('pop-name')
  const nameError = byId('pop-name-error')
  const submit = byId('pop-create')
  const empty = byId('pops-empty')
  const tableWrap = byId('pops-table-wrap')
  const body = byId('pops-body')
  let loads = 0

  async function load() {
    const sequence = ++loads
    try {
      /** @type {PopView[]} */
      const pops = await api.listPops()
      if (sequence !== loads) return
      empty.hidden = pops.length > 0
      tableWrap.hidden = pops.length === 0
      body.replaceChildren(...pops.map(row))
      showError(undefined)
    } catch (err) {
      if (sequence === loads) showError(`The Pops could not be loaded: ${describeError(err)}`)
    }
  }

  /** @param {PopView} pop */
  function row(pop) {
    const copied = el('span', { className: 'copy-status', attrs: { role: 'status' } })
    const copy = el(
      'button',
      { className: 'small', attrs: { type: 'button' } },
      'Copy',
      el('span', { className: 'visually-hidden' }, ` the id of ${pop.name}`),
    )
    copy.addEventListener('click', async () => {
      const ok = await copyText(pop.id)
      copied.textContent = ok ? 'Copied' : 'Copy failed: select the id and copy it with your keyboard.'
      copied.classList.toggle('copy-failed', !ok)
    })
    return el(
      'tr',
      { attrs: { 'data-pop-id': pop.id } },
      el('th', { attrs: { scope: 'row' } }, pop.name),
      el('td', { className: 'id-cell' }, el('code', { className: 'pop-id' }, pop.id), ' ', copy, ' ', copied),
      el('td', {}, timeCell(pop.createdAt)),
    )
  }

  async function create(/** @type {SubmitEvent} */ event) {
    event.preventDefault()
    if (submit.disabled) return
    const problem = nameProblem(nameInput.value)
    setFieldError(nameInput, nameError, problem)
    if (problem) {
      nameInput.focus()
      return
    }
    submit.disabled = true
    try {
      /** @type {PopView} */
      const pop = await api.createPop({ name: nameInput.value.trim() })
      form.reset()
      notify(`Created Pop "${pop.name}".`)
      await load()
    } catch (err) {
      const message = describeError(err)
      setFieldError(nameInput, nameError, err instanceof ApiError && err.status === 400 ? message : `The Pop was not created: ${message}`)
      nameInput.focus()
    } finally {
      submit.disabled = false
    }
  }

  form.addEventListener('submit', create)
  nameInput.addEventListener('input', () => {
    if (nameInput.hasAttribute('aria-invalid')) setFieldError(nameInput, nameError, nameProblem(nameInput.value))
  })

  return { load, heading }
}
