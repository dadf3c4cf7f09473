/**
 * The API Keys view: the account's keys, the Create API Key dialog that shows a new key once, and
 * the confirmation before a key is deleted.
 *
 * The secret of a new key lives only in the read-only field of the dialog while it is open: when
 * the dialog closes, the field is emptied and the reference dropped, and the list shows the key by
 * its hint only (`…abcd`).
 *
 * @module
 */
import { ApiError, describeError } from './api.js'
import { byId, copyText, el, nameProblem, setFieldError, timeCell } from './dom.js'

const STATUS_WORDS = { active: 'Active', expired: 'Expired', deleted: 'Deleted' }

/**
 * @typedef {{ id: string, name: string, hint: string, createdAt: string, expiresAt: string | null,
 *   lastUsedAt: string | null, status: 'active' | 'expired' | 'deleted' }} KeyView
 */

/**
 * Wires the view.
 *
 * @param {{ api: import('./api.js').Api, notify: (message: string) => void,
 *   showError: (message: string | undefined) => void }} deps
 */
export function createKeysView({ api, notify, showError }) {
  const heading = byId('keys-title')
  const createButton = byId('create-key-button')
  const empty = byId('keys-empty')
  const tableWrap = byId('keys-table-wrap')
  const body = byId('keys-body')

  const createDialog = byId('create-dialog')
  const createForm = byId('create-form')
  const nameInput = byId('key-name')
  const nameError = byId('key-name-error')
  const expiresSelect = byId('key-expires')
  const createError = byId('create-error')
  const createSubmit = byId('create-submit')
  const reveal = byId('reveal')
  const revealTitle = byId('reveal-title')
  const revealName = byId('reveal-name')
  const revealKey = byId('reveal-key')
  const revealCopied = byId('reveal-copied')

  const deleteDialog = byId('delete-dialog')
  const deleteQuestion = byId('delete-question')
  const deleteError = byId('delete-error')
  const deleteConfirm = byId('delete-confirm')

  let loads = 0
  let busy = false
  /** The key being deleted. @type {KeyView | undefined} */
  let deleting

  async function load() {
    const sequence = ++loads
    try {
      /** @type {KeyView[]} */
      const keys = await api.listKeys()
      // An older answer must not overwrite a newer one.
      if (sequence !== loads) return
      render(keys)
      showError(undefined)
    } catch (err) {
      if (sequence === loads) showError(`The API keys could not be loaded: ${describeError(err)}`)
    }
  }

  /** @param {KeyView[]} keys */
  function render(keys) {
    // Deleted keys are kept by the server for the audit log; they are no longer the user's keys.
    const shown = keys.filter((k) => k.status !== 'deleted')
    empty.hidden = shown.length > 0
    tableWrap.hidden = shown.length === 0
    body.replaceChildren(...shown.map(row))
  }

  /** @param {KeyView} key */
  function row(key) {
    const remove = el(
      'button',
      { className: 'small', attrs: { type: 'button', 'data-key-id': key.id } },
      'Delete',
      el('span', { className: 'visually-hidden' }, ` API key ${key.name}`),
    )
    remove.addEventListener('click', () => askDelete(key, remove))
    return el(
      'tr',
      { attrs: { 'data-key-id': key.id } },
      el('th', { attrs: { scope: 'row' } }, key.name),
      el('td', {}, el('code', { className: 'hint', attrs: { title: 'The last 4 characters of the key' } }, `…${key.hint}`)),
      el('td', {}, timeCell(key.createdAt)),
      el('td', {}, timeCell(key.expiresAt)),
      el('td', {}, timeCell(key.lastUsedAt)),
      el('td', {}, el('span', { className: `badge badge-${key.status}` }, STATUS_WORDS[key.status] ?? key.status)),
      el('td', { className: 'actions' }, remove),
    )
  }

  // Create API Key: the form, then the key shown once.

  function openCreate() {
    createForm.reset()
    setFieldError(nameInput, nameError, undefined)
    createError.hidden = true
    createForm.hidden = false
    reveal.hidden = true
    createDialog.setAttribute('aria-labelledby', 'create-title')
    createDialog.showModal()
    nameInput.focus()
  }

  async function submitCreate(/** @type {SubmitEvent} */ event) {
    event.preventDefault()
    if (busy) return
    createError.hidden = true
    const problem = nameProblem(nameInput.value)
    setFieldError(nameInput, nameError, problem)
    if (problem) {
      nameInput.focus()
      return
    }
    setBusy(true)
    try {
      const created = await api.createKey({ name: nameInput.value.trim(), expires: expiresSelect.value })
      showOnce(created)
    } catch (err) {
      if (err instanceof ApiError && err.status === 400 && err.description?.startsWith('name ')) {
        setFieldError(nameInput, nameError, err.description)
        nameInput.focus()
      } else {
        createError.textContent = describeError(err)
        createError.hidden = false
      }
    } finally {
      setBusy(false)
    }
  }

  /** @param {KeyView & { key: string }} created */
  function showOnce(created) {
    createForm.hidden = true
    reveal.hidden = false
    createDialog.setAttribute('aria-labelledby', 'reveal-title')
    revealName.textContent = `(${created.name})`
    revealKey.value = created.key
    revealCopied.textContent = ''
    revealTitle.focus()
    notify(`Created API key "${created.name}".`)
  }

  async function copyKey() {
    const copied = await copyText(revealKey.value, revealKey)
    revealCopied.textContent = copied ? 'Copied' : 'Copy failed: select the key and copy it with your keyboard.'
    revealCopied.classList.toggle('copy-failed', !copied)
  }

  function onCreateClosed() {
    // Drop the secret: from the field, from the DOM and from this closure.
    revealKey.value = ''
    revealCopied.textContent = ''
    const wasShown = !reveal.hidden
    reveal.hidden = true
    createForm.hidden = false
    createForm.reset()
    createButton.focus()
    if (wasShown) load()
  }

  /** @param {boolean} value */
  function setBusy(value) {
    busy = value
    createSubmit.disabled = value
    createSubmit.textContent = value ? 'Creating…' : 'Create'
  }

  // Delete, after confirmation.

  /**
   * @param {KeyView} key
   * @param {HTMLElement} opener
   */
  function askDelete(key, opener) {
    deleting = key
    deleteQuestion.textContent = `Delete API key "${key.name}"? Apps using it stop working within a second.`
    deleteError.hidden = true
    deleteConfirm.disabled = false
    deleteDialog.showModal()
    byId('delete-cancel').focus()
    deleteDialog.dataset.opener = opener.dataset.keyId ?? ''
  }

  async function confirmDelete() {
    const key = deleting
    if (!key || deleteConfirm.disabled) return
    deleteConfirm.disabled = true
    try {
      await api.deleteKey(key.id)
    } catch (err) {
      // Already gone (deleted elsewhere): the outcome the user asked for.
      if (!(err instanceof ApiError && err.status === 404)) {
        deleteError.textContent = describeError(err)
        deleteError.hidden = false
        deleteConfirm.disabled = false
        return
      }
    }
    deleting = undefined
    body.querySelector(`tr[data-key-id="${CSS.escape(key.id)}"]`)?.remove()
    deleteDialog.close('deleted')
    notify(`Deleted API key "${key.name}".`)
    heading.focus()
    await load()
  }

  function onDeleteClosed() {
    if (deleteDialog.returnValue === 'deleted') {
      deleteDialog.returnValue = ''
      return
    }
    deleting = undefined
    const opener = body.querySelector(`button[data-key-id="${CSS.escape(deleteDialog.dataset.opener ?? '')}"]`)
    if (opener instanceof HTMLElement) opener.focus()
  }

  createButton.addEventListener('click', openCreate)
  createForm.addEventListener('submit', submitCreate)
  byId('create-cancel').addEventListener('click', () => createDialog.close())
  createDialog.addEventListener('cancel', (/** @type {Event} */ event) => {
    // Escape while the key is being created would lose the key: wait for the answer.
    if (busy) event.preventDefault()
  })
  createDialog.addEventListener('close', onCreateClosed)
  byId('reveal-copy').addEventListener('click', copyKey)
  byId('reveal-done').addEventListener('click', () => createDialog.close())
  nameInput.addEventListener('input', () => {
    if (nameInput.hasAttribute('aria-invalid')) setFieldError(nameInput, nameError, nameProblem(nameInput.value))
  })

  byId('delete-cancel').addEventListener('click', () => deleteDialog.close())
  deleteConfirm.addEventListener('click', confirmDelete)
  deleteDialog.addEventListener('close', onDeleteClosed)

  return { load, heading }
}
