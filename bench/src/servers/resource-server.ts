/**
 * A resource server in its own process, as a customer would build one with auth-core: the Pop
 * config route behind `requireAccessToken` (keys from the emulator's `/jwks`, deleted keys from its
 * revocation feed), and the same route without it under `/open`. Both answer the same JSON, so the
 * difference between them is the verification.
 *
 * Usage: `node dist/servers/resource-server.js --issuer http://127.0.0.1:PORT [--audience AUD]`
 *
 * @module
 */
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import {
  createAccessTokenVerifier,
  createRemoteRevocationSource,
  createRevocationList,
  requireAccessToken,
} from '@eyepop/auth-core'
import express, { type Request } from 'express'
import { createRemoteJWKSet } from 'jose'
import { popConfigBody } from '../fixed-bodies.js'
import { listenOnLoopback } from './listen.js'

const { values } = parseArgs({
  options: {
    issuer: { type: 'string' },
    audience: { type: 'string', default: 'https://api.eyepop.ai' },
  },
})
if (!values.issuer) throw new TypeError('--issuer must be given')
const issuer = values.issuer

const revocations = await createRevocationList({
  source: createRemoteRevocationSource(`${issuer}/v1/auth/revocations`),
  onError: (err) => console.error('revocation poll failed', err),
})
const verify = createAccessTokenVerifier({
  issuer,
  audience: values.audience!,
  keys: createRemoteJWKSet(new URL(`${issuer}/jwks`)),
  revocations,
})
const requireToken = requireAccessToken<Request>({
  verify,
  scopes: ['access:inference-api'],
  pop: (req) => String(req.params.popId),
})

const app = express()
app.disable('x-powered-by')
function popConfig(_req: Request, res: express.Response) {
  res.json(popConfigBody('Bench Pop'))
}
app.get('/pops/:popId/config', requireToken, popConfig)
app.get('/open/pops/:popId/config', popConfig)
listenOnLoopback(createServer(app))
