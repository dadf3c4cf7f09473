// The page's script: plain JavaScript, no build step. The EyePop SDK's browser bundle
// (/vendor/eyepop.min.js, loaded before this file) puts its exports on `window`, hence
// `window.EyePop`.
//
// The page asks its own server for a session once, when it loads: one temporary key, bound to one
// Pop and to this page's origin, serves every run until it expires. After that the page says so
// instead of failing with a cryptic error; reloading the page gets a new session.
'use strict'

/** The image the Pop is asked to process. The emulator's mock Pop answers without fetching it. */
const SAMPLE_IMAGE_URL = 'https://example.invalid/sample.jpg'
const EXPIRED_MESSAGE = 'Your session has expired. Reload the page to get a new one.'

const runButton = document.getElementById('run')
const statusArea = document.getElementById('status')
const predictionList = document.getElementById('predictions')
const rawOutput = document.getElementById('raw')

/** The session request of this page load; replaced only when it failed. */
let sessionRequest = requestSession()

/** Shows a message in the status area, which screen readers announce (`aria-live`). */
function setStatus(text, state = 'info') {
  statusArea.textContent = text
  statusArea.dataset.state = state
}

/** The text of anything thrown: the SDK rejects with Error objects and with plain strings. */
function describe(err) {
  if (typeof err === 'string') return err
  if (err && typeof err.message === 'string') return err.message
  return String(err)
}

/** Asks this page's server for a session: `{ eyepopUrl, accessToken, validUntil, popId }`. */
async function requestSession() {
  const res = await fetch('/api/eyepop-session', {
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  })
  const body = await res.json().catch(() => null)
  if (!res.ok) {
    throw new Error(body?.error_description ?? `the session request failed with status ${res.status}`)
  }
  return body
}

function isExpired(session) {
  return Date.now() >= session.validUntil
}

/** The SDK refuses an expired session in `connect()` with this message. */
function isExpiredError(err) {
  return /temporary access token expired/i.test(describe(err))
}

function clearResults() {
  predictionList.replaceChildren()
  rawOutput.textContent = ''
}

function renderPredictions(predictions) {
  const items = predictions
    .flatMap((prediction) => prediction.objects ?? [])
    .map((object) => {
      const label = object.classLabel ?? object.category ?? 'unknown'
      const confidence = Number(object.confidence)
      const item = document.createElement('li')
      item.dataset.testid = 'prediction'
      item.dataset.label = label
      item.dataset.confidence = String(confidence)
      const name = document.createElement('strong')
      name.textContent = label
      item.append(name, `, confidence ${confidence.toFixed(2)}`)
      return item
    })
  predictionList.replaceChildren(...items)
  rawOutput.textContent = JSON.stringify(predictions.length === 1 ? predictions[0] : predictions, null, 2)
  return items.length
}

async function runOnSample() {
  runButton.disabled = true
  clearResults()
  let session
  let endpoint
  try {
    setStatus('Getting a session…')
    try {
      session = await sessionRequest
    } catch {
      // The request made at load failed: try once more now.
      sessionRequest = requestSession()
      session = await sessionRequest
    }
    if (isExpired(session)) {
      setStatus(EXPIRED_MESSAGE, 'expired')
      return
    }

    setStatus('Connecting to the Pop…')
    endpoint = window.EyePop.workerEndpoint({ auth: { session } })
    await endpoint.connect()

    setStatus('Running the Pop on the sample image…')
    const predictions = []
    for await (const prediction of await endpoint.process({ url: SAMPLE_IMAGE_URL })) {
      predictions.push(prediction)
    }
    const count = renderPredictions(predictions)
    setStatus(`Done: ${count} ${count === 1 ? 'object' : 'objects'} found.`, 'done')
  } catch (err) {
    if (isExpiredError(err) || (session && isExpired(session))) {
      setStatus(EXPIRED_MESSAGE, 'expired')
    } else {
      setStatus(`Something went wrong: ${describe(err)}`, 'error')
    }
  } finally {
    runButton.disabled = false
    endpoint?.disconnect().catch(() => {})
  }
}

sessionRequest.then(
  () => setStatus('Ready. The API key stayed on the server; this page has a temporary key for one Pop.'),
  (err) => setStatus(`Could not get a session: ${describe(err)}`, 'error'),
)
sessionRequest.finally(() => {
  runButton.disabled = false
}).catch(() => {})
runButton.addEventListener('click', runOnSample)
