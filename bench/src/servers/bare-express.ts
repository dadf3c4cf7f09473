/**
 * The Express 5 ceiling: `GET /` answers a fixed 200 JSON through `res.json`, and
 * `GET /pops/:popId/config` answers the emulator's Pop config with no verification (the
 * unprotected copy of the emulator's Pop route).
 *
 * @module
 */
import { createServer } from 'node:http'
import express from 'express'
import { FIXED_TOKEN_BODY, popConfigBody } from '../fixed-bodies.js'
import { listenOnLoopback } from './listen.js'

const app = express()
app.disable('x-powered-by')
app.get('/', function fixedJson(_req, res) {
  res.json(FIXED_TOKEN_BODY)
})
app.get('/pops/:popId/config', function popConfig(_req, res) {
  res.json(popConfigBody('Bench Pop'))
})
listenOnLoopback(createServer(app))
