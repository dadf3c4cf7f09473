/**
 * The OAuth names of the emulator: clients, scopes, grants. Kept apart from the provider's
 * configuration so that the CLI and the routes use them without loading oidc-provider.
 *
 * @module
 */
/** The client id of the emulator's own dashboard (authorization code with PKCE). */
export const DASHBOARD_CLIENT_ID = 'eyepop-dashboard'
/** The client id of the command line (`eyepop-emulator login`, RFC 8628 device flow). */
export const CLI_CLIENT_ID = 'eyepop-cli'
/** The scope of a signed-in user's token for the key-management API. */
export const MANAGE_SCOPE = 'manage:keys'
/** The device authorization grant type (RFC 8628). */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** The resource indicator (and `aud`) of the key-management API. */
export function manageResource(issuer: string): string {
  return `${issuer}/api`
}

