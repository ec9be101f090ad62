// The lab's Microsoft Entra ID token endpoint, on the same HTTPS server as its ARM endpoint (the
// authority host): the OpenID metadata @azure/identity (msal-node) reads, then the client
// credentials grant. A client that presents the lab's client id and secret gets the bearer token
// the ARM endpoint accepts. Wire format: OAuth 2.0 client credentials as Microsoft identity
// platform serves it (GET /{tenant}/v2.0/.well-known/openid-configuration, POST
// /{tenant}/oauth2/v2.0/token, form fields client_id, client_secret, scope, grant_type), checked
// against @azure/identity 4.13 / msal-node 5.6. Error codes are Entra's AADSTS numbers (7000215
// invalid client secret, 700016 unknown application, 90002 unknown tenant); the HTTP status for a
// wrong secret (401) is the lab's choice, the client keys on the error, not on the status.
import { timingSafeEqual } from 'node:crypto';
import type { ArmResponse } from './response.js';

export interface EntraOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

const METADATA = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/;
const TOKEN = /^\/([^/]+)\/oauth2\/v2\.0\/token$/;

/** Whether a path is the Entra endpoint's (then the ARM checks do not apply). */
export function isEntraPath(pathname: string): boolean {
  return METADATA.test(pathname) || TOKEN.test(pathname);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function oauthError(status: number, error: string, code: number, description: string): ArmResponse {
  return {
    status,
    body: { error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: new Date().toISOString().replace('T', ' ').replace(/\..*$/, 'Z') },
  };
}

/** Answers an Entra request; `host` is the authority's origin (https://localhost:<port>). */
export function handleEntraRequest(
  req: { method: string; pathname: string; body: string },
  host: string,
  entra: EntraOptions,
  issue: () => string,
): ArmResponse {
  const metadata = METADATA.exec(req.pathname);
  const tenant = decodeURIComponent((metadata ?? TOKEN.exec(req.pathname))![1]!);
  if (tenant.toLowerCase() !== entra.tenantId.toLowerCase() && tenant !== 'organizations') {
    return oauthError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
  }
  const base = `${host}/${entra.tenantId}`;
  if (metadata) {
    if (req.method !== 'GET') return oauthError(405, 'invalid_request', 900561, 'The endpoint only accepts GET requests.');
    return {
      status: 200,
      body: {
        issuer: `${base}/v2.0`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        tenant_region_scope: null,
      },
    };
  }
  if (req.method !== 'POST') return oauthError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
  const form = new URLSearchParams(req.body);
  if (form.get('grant_type') !== 'client_credentials') {
    return oauthError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type (the lab serves client_credentials).');
  }
  const clientId = form.get('client_id') ?? '';
  if (!same(clientId.toLowerCase(), entra.clientId.toLowerCase())) {
    return oauthError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${entra.tenantId}'.`);
  }
  const scope = form.get('scope') ?? '';
  if (!scope.split(' ').some((s) => s.endsWith('/.default'))) {
    return oauthError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`);
  }
  // The secret is compared, never echoed.
  if (!same(form.get('client_secret') ?? '', entra.clientSecret)) {
    return oauthError(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
  }
  return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: issue() } };
}
