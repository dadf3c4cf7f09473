/**
 * The hamburger menu in the upper right, as a WAI-ARIA menu button
 * (https://www.w3.org/WAI/ARIA/apg/patterns/menu-button/):
 * - Enter, Space, a click or Arrow Down opens it on its first item; Arrow Up on its last;
 * - Arrow Up/Down, Home and End move between items; Space activates a link item like Enter;
 * - Escape closes it and returns focus to the button; Tab, a click outside or choosing an item
 *   closes it.
 *
 * @module
 */

/**
 * Wires the menu.
 *
 * @param {HTMLButtonElement} button the button (`aria-controls` names the list)
 * @param {HTMLElement} list the `role="menu"` list
 */
export function createMenu(button, list) {
  /** @returns {HTMLElement[]} */
  const items = () => [...list.querySelectorAll('[role="menuitem"]')].filter((item) => item instanceof HTMLElement)
  const isOpen = () => !list.hidden

  /** @param {number} index the item to focus; negative counts from the end */
  function open(index) {
    list.hidden = false
    button.setAttribute('aria-expanded', 'true')
    items().at(index)?.focus()
  }

  /** @param {boolean} returnFocus */
  function close(returnFocus) {
    if (!isOpen()) return
    list.hidden = true
    button.setAttribute('aria-expanded', 'false')
    if (returnFocus) button.focus()
  }

  button.addEventListener('click', () => (isOpen() ? close(true) : open(0)))
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      open(event.key === 'ArrowDown' ? 0 : -1)
    }
  })

  list.addEventListener('keydown', (event) => {
    const all = items()
    const current = all.indexOf(/** @type {HTMLElement} */ (document.activeElement))
    const focusAt = (/** @type {number} */ index) => all.at(index % all.length)?.focus()
    switch (event.key) {
      case 'Escape':
        event.preventDefault()
        close(true)
        break
      case 'ArrowDown':
        event.preventDefault()
        focusAt(current + 1)
        break
      case 'ArrowUp':
        event.preventDefault()
        focusAt(current - 1)
        break
      case 'Home':
        event.preventDefault()
        focusAt(0)
        break
      case 'End':
        event.preventDefault()
        focusAt(-1)
        break
      case 'Tab':
        close(false)
        break
      case ' ':
        // Links do not activate on Space by themselves; menu items should.
        if (document.activeElement instanceof HTMLAnchorElement) {
          event.preventDefault()
          document.activeElement.click()
        }
        break
      default:
    }
  })

  document.addEventListener('click', (event) => {
    const target = /** @type {Node} */ (event.target)
    if (!button.contains(target) && !list.contains(target)) close(false)
  })

  return { close }
}
