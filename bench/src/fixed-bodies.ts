/**
 * The fixed answers of the baseline servers, shaped like what the emulator answers so that a
 * ratio compares the work, not the size of the body.
 *
 * @module
 */

/** What the ceilings answer: a token response of realistic size. */
export const FIXED_TOKEN_BODY = {
  access_token:
    'eyJhbGciOiJFZERTQSIsImtpZCI6ImJlbmNoIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiJodHRwOi8vMTI3LjAuMC4xIiwic3ViIjoiYmVuY2giLCJhdWQiOiJodHRwczovL2FwaS5leWVwb3AuYWkiLCJzY29wZSI6ImFjY2VzczppbmZlcmVuY2UtYXBpIn0.c2lnbmF0dXJlLW9mLWEtZml4ZWQtYmVuY2htYXJrLXRva2VuLXRoYXQtaXMtbmV2ZXItdmVyaWZpZWQ',
  token_type: 'Bearer',
  expires_in: 3600,
  expires_at: '2030-01-01T00:00:00.000Z',
  scope: 'access:inference-api',
}

/** The pipeline id the unprotected Pop routes answer with. */
export const FIXED_PIPELINE_ID = '00000000-0000-4000-8000-000000000000'

/** The emulator's `GET /pops/{popId}/config` answer, for an unprotected copy of the route. */
export function popConfigBody(popName: string) {
  return {
    base_url: '/worker',
    pipeline_id: FIXED_PIPELINE_ID,
    name: popName,
    status: 'active_dev',
    endpoints: [{ base_url: '/worker', pipeline_id: FIXED_PIPELINE_ID }],
  }
}
