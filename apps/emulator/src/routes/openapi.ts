import { sendText } from '../http/error-handler.js'
import type { Route } from '../http/route-table.js'
import { KEY_EXPIRY_CHOICES } from '../services/keys.js'

const error = { $ref: '#/components/schemas/Error' }
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: error } } })
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } })
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } })
const common = {
  '401': errorResponse('Not signed in: no session cookie and no user access token'),
  '403': errorResponse('An API key, its token or a temporary key; or a missing CSRF token on a cookie-authenticated change'),
}

/** The OpenAPI 3.1 document of the key-management API. */
export function openApiDocument(issuer: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'EyePop emulator key-management API',
      version: '1',
      description:
        'Manage the API keys and Pops of the signed-in account. Authenticate with the dashboard session cookie (changes need the X-CSRF-Token header from GET /api/v1/session) or a signed-in user access token (Bearer, scope manage:keys). API keys and temporary keys are refused with 403.',
    },
    servers: [{ url: issuer }],
    security: [{ session: [], userToken: ['manage:keys'] }],
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'eyepop_session' },
        userToken: {
          type: 'oauth2',
          flows: {
            authorizationCode: {
              authorizationUrl: `${issuer}/auth`,
              tokenUrl: `${issuer}/token`,
              scopes: { 'manage:keys': 'manage API keys and Pops' },
            },
          },
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'string' }, error_description: { type: 'string' } },
        },
        Key: {
          type: 'object',
          required: ['id', 'name', 'hint', 'createdAt', 'expiresAt', 'lastUsedAt', 'status'],
          properties: {
            id: { type: 'string', pattern: '^key_[A-Za-z0-9]{16}$' },
            name: { type: 'string', maxLength: 100 },
            hint: { type: 'string', description: 'the last 4 characters of the key' },
            createdAt: { type: 'string', format: 'date-time' },
            expiresAt: { type: ['string', 'null'], format: 'date-time' },
            lastUsedAt: {
              type: ['string', 'null'],
              format: 'date-time',
              description: 'When the key last authenticated: exact for its first use, then updated at most once an hour',
            },
            status: { enum: ['active', 'expired', 'deleted'] },
          },
        },
        CreatedKey: {
          allOf: [
            { $ref: '#/components/schemas/Key' },
            {
              type: 'object',
              required: ['key'],
              properties: { key: { type: 'string', pattern: '^eyp_[A-Za-z0-9]{50}$', description: 'shown once, never again' } },
            },
          ],
        },
        Pop: {
          type: 'object',
          required: ['id', 'name', 'createdAt'],
          properties: {
            id: { type: 'string', pattern: '^[0-9a-f]{32}$' },
            name: { type: 'string', maxLength: 100 },
            createdAt: { type: 'string', format: 'date-time' },
          },
        },
        AuditEvent: {
          type: 'object',
          required: ['id', 'keyId', 'type', 'at', 'detail'],
          properties: {
            id: { type: 'integer' },
            keyId: { type: ['string', 'null'] },
            type: { enum: ['key.created', 'key.first_used', 'key.deleted', 'auth.failed'] },
            at: { type: 'string', format: 'date-time' },
            detail: { type: 'object', additionalProperties: { type: 'string' } },
          },
        },
      },
    },
    paths: {
      '/api/v1/session': {
        get: {
          summary: 'The signed-in account (and, for a cookie session, its CSRF token)',
          responses: {
            '200': json({
              type: 'object',
              properties: {
                account: { type: 'object', properties: { id: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' } } },
                csrfToken: { type: 'string' },
              },
            }),
            ...common,
          },
        },
      },
      '/api/v1/keys': {
        get: {
          summary: 'List the account keys (never their secrets)',
          responses: { '200': json({ type: 'object', properties: { keys: { type: 'array', items: { $ref: '#/components/schemas/Key' } } } }), ...common },
        },
        post: {
          summary: 'Create a key; the response holds the key, this once',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['name'],
                  properties: { name: { type: 'string', minLength: 1, maxLength: 100 }, expires: { enum: [...KEY_EXPIRY_CHOICES], default: '90d' } },
                },
              },
            },
          },
          responses: {
            '201': json({ $ref: '#/components/schemas/CreatedKey' }, 'Created'),
            '400': errorResponse('A bad name or expiration'),
            '409': errorResponse('The account reached its key limit (limit_exceeded)'),
            ...common,
          },
        },
      },
      '/api/v1/keys/{id}': {
        parameters: [idParam('id')],
        get: { summary: 'One key', responses: { '200': json({ $ref: '#/components/schemas/Key' }), '404': errorResponse('No such key in this account'), ...common } },
        delete: {
          summary: 'Delete a key: its tokens and temporary keys stop working within a second',
          responses: { '204': { description: 'Deleted' }, '404': errorResponse('No such key in this account'), ...common },
        },
      },
      '/api/v1/pops': {
        get: {
          summary: 'List the account Pops',
          responses: { '200': json({ type: 'object', properties: { pops: { type: 'array', items: { $ref: '#/components/schemas/Pop' } } } }), ...common },
        },
        post: {
          summary: 'Create a Pop',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 100 } } } } },
          },
          responses: { '201': json({ $ref: '#/components/schemas/Pop' }, 'Created'), '400': errorResponse('A bad name'), ...common },
        },
      },
      '/api/v1/pops/{id}': {
        parameters: [idParam('id')],
        get: { summary: 'One Pop', responses: { '200': json({ $ref: '#/components/schemas/Pop' }), '404': errorResponse('No such Pop in this account'), ...common } },
      },
      '/api/v1/audit': {
        get: {
          summary: 'Key events, newest first: created, first used, deleted, failed authentication',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            { name: 'before', in: 'query', schema: { type: 'integer', minimum: 1 }, description: 'only events with a smaller id' },
            { name: 'key_id', in: 'query', schema: { type: 'string' } },
          ],
          responses: { '200': json({ type: 'object', properties: { events: { type: 'array', items: { $ref: '#/components/schemas/AuditEvent' } } } }), '400': errorResponse('A bad query'), ...common },
        },
      },
    },
  }
}

/** `GET /openapi.json`. */
export function openApiRoute(issuer: string): Route {
  const document = JSON.stringify(openApiDocument(issuer))
  return {
    method: 'GET',
    path: '/openapi.json',
    handler(_req, res) {
      sendText(res, 200, 'application/json', document)
    },
  }
}
