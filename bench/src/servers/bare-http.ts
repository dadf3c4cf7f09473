/**
 * The `node:http` ceiling: every request gets the same 200 JSON, serialized once.
 *
 * @module
 */
import { createServer } from 'node:http'
import { FIXED_TOKEN_BODY } from '../fixed-bodies.js'
import { listenOnLoopback } from './listen.js'

const body = JSON.stringify(FIXED_TOKEN_BODY)
const length = String(Buffer.byteLength(body))

const server = createServer(function answerFixedJson(_req, res) {
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': length })
  res.end(body)
})
listenOnLoopback(server)
