/**
 * The peer a user might pick instead: `oauth2-mock-server`, answering `client_credentials` at
 * `POST /token` with a JWT signed by its key (RS256 by default, or EdDSA).
 *
 * Usage: `node dist/servers/oauth2-peer.js [--alg RS256|EdDSA]`
 *
 * @module
 */
import { parseArgs } from 'node:util'
import { OAuth2Server } from 'oauth2-mock-server'

const { values } = parseArgs({ options: { alg: { type: 'string', default: 'RS256' } } })
const alg = values.alg!
if (alg !== 'RS256' && alg !== 'EdDSA') throw new TypeError('--alg must be RS256 or EdDSA')

const server = new OAuth2Server()
await server.issuer.keys.generate(alg)
await server.start(0, '127.0.0.1')
// The issuer URL says localhost; the load goes to the address actually bound.
const { port } = server.address()
console.log(`READY http://127.0.0.1:${port}`)
const stop = () => {
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
