// The lab's HTTPS ARM endpoint for Microsoft.Sql/managedInstances/distributedAvailabilityGroups.
// Order of checks follows ARM: bearer token, api-version, route, then the resource provider's own
// checks. Every request is reported to the backend's request log, whatever its outcome.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findApiVersion, instanceApiVersions, supportedApiVersions } from './api-versions.js';
import { ArmError } from './contract.js';
import type { ArmServer, ArmServerOptions } from './contract.js';
import { errorBody, toArmError } from './errors.js';
import { handleEntraRequest, isEntraPath } from './entra.js';
import { handleInstanceRequest, handleLinkRequest } from './handlers.js';
import { asyncOperationResponse, operationResultResponse } from './lro-http.js';
import type { LroUrls } from './lro-http.js';
import { LroStore } from './operations.js';
import type { ArmResponse } from './response.js';
import { parseArmPath } from './routes.js';

export type { ArmServer, ArmServerOptions } from './contract.js';

const maxBodyBytes = 1024 * 1024;
const defaultLroDurationMs = 1000;

interface Incoming {
  method: string;
  url: URL;
  authorization: string | undefined;
  body: string;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = header?.match(/^Bearer\s+(.+)$/i);
  if (!m) return false;
  const presented = Buffer.from(m[1]!.trim());
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

function unauthorized(header: string | undefined): ArmResponse {
  // The presented token is never echoed, only whether one was there.
  const reason = header
    ? 'The access token is invalid or has expired.'
    : "The 'Authorization' header is missing or is not a Bearer token.";
  return {
    status: 401,
    headers: { 'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"' },
    body: errorBody(new ArmError(401, 'AuthenticationFailed', `Authentication failed. ${reason}`)),
  };
}

function apiVersionError(value: string | null, resourceType = 'Microsoft.Sql/managedInstances/distributedAvailabilityGroups', versions: readonly string[] = supportedApiVersions.map((v) => v.version)): ArmError {
  if (value === null || value === '') {
    return new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
  }
  return new ArmError(
    400,
    'InvalidApiVersionParameter',
    `The api-version '${value}' is invalid. The supported versions for '${resourceType}' are '${versions.join(', ')}'.`,
  );
}

function route(incoming: Incoming, opts: ArmServerOptions, lros: LroStore, urls: LroUrls): ArmResponse {
  lros.settleDue();
  if (!bearerMatches(incoming.authorization, opts.token)) return unauthorized(incoming.authorization);
  const apiVersionParam = incoming.url.searchParams.get('api-version');
  const parsed = parseArmPath(incoming.url.pathname);
  // Each resource type has its own api-versions; the lab answers only those it implements.
  if (parsed?.kind === 'instance') {
    const wanted = (apiVersionParam ?? '').toLowerCase();
    if (!instanceApiVersions.includes(wanted)) throw apiVersionError(apiVersionParam, 'Microsoft.Sql/managedInstances', instanceApiVersions);
    return handleInstanceRequest({ method: incoming.method, scope: parsed.scope, backend: opts.backend });
  }
  const api = findApiVersion(apiVersionParam ?? '');
  if (!api) throw apiVersionError(apiVersionParam);

  if (!parsed) {
    throw new ArmError(
      404,
      'InvalidResourceType',
      `The resource type could not be found in the namespace 'Microsoft.Sql' for api version '${api.version}'.`,
    );
  }
  if (parsed.kind === 'operationResult' || parsed.kind === 'asyncOperation') {
    if (incoming.method !== 'GET') {
      throw new ArmError(405, 'MethodNotAllowed', `The HTTP method '${incoming.method}' is not supported for operation status; use GET.`);
    }
    return parsed.kind === 'operationResult'
      ? operationResultResponse(urls, lros, parsed.subscriptionId, parsed.operationId, api)
      : asyncOperationResponse(urls, lros, parsed.subscriptionId, parsed.operationId);
  }
  return handleLinkRequest({
    method: incoming.method,
    route: parsed,
    api,
    rawBody: incoming.body,
    backend: opts.backend,
    lros,
    urls,
  });
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBodyBytes ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, answer: ArmResponse, requestId: string): void {
  const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
  res.statusCode = answer.status;
  res.setHeader('x-ms-request-id', requestId);
  res.setHeader('x-ms-correlation-request-id', requestId);
  res.setHeader('cache-control', 'no-cache');
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  if (payload) res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(answer.status === 204 ? undefined : payload);
}

async function serve(req: IncomingMessage, res: ServerResponse, opts: ArmServerOptions, lros: LroStore, urls: LroUrls) {
  const requestId = randomUUID();
  const url = new URL(req.url ?? '/', 'https://localhost');
  const method = (req.method ?? 'GET').toUpperCase();
  let answer: ArmResponse;
  try {
    const body = await readBody(req);
    if (opts.entra && isEntraPath(url.pathname)) {
      // The token endpoint is Entra's, not ARM's: no bearer check, not in ARM's request log.
      const entraAnswer = body === undefined
        ? { status: 413, body: { error: 'invalid_request' } }
        : handleEntraRequest({ method, pathname: url.pathname, body }, urls.endpoint, opts.entra, () => opts.token);
      if (!res.destroyed) send(res, entraAnswer, requestId);
      return;
    }
    await opts.backend.hold?.(method, url.pathname, 'before');
    answer =
      body === undefined
        ? { status: 413, body: errorBody(new ArmError(413, 'RequestEntityTooLarge', 'The request body is too large.')) }
        : route({ method, url, authorization: req.headers.authorization, body }, opts, lros, urls);
  } catch (err) {
    const armError = toArmError(err);
    answer = { status: armError.status, body: errorBody(armError) };
  }
  try {
    opts.backend.recordRequest({ method, path: url.pathname, apiVersion: url.searchParams.get('api-version') ?? '', status: answer.status });
  } catch {
    // The request log is for observers; a failing log must not change the answer.
  }
  await opts.backend.hold?.(method, url.pathname, 'after');
  if (!res.destroyed) send(res, answer, requestId);
}

export async function startArmServer(opts: ArmServerOptions): Promise<ArmServer> {
  const lros = new LroStore(opts.lroDurationMs ?? defaultLroDurationMs);
  const urls: LroUrls = { endpoint: '', retryAfterSeconds: opts.retryAfterSeconds ?? 1 };
  const server = createServer({ key: opts.tls.key, cert: opts.tls.cert }, (req, res) => {
    void serve(req, res, opts, lros, urls);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  let connections = 0;
  server.on('secureConnection', () => void connections++);
  const { port } = server.address() as AddressInfo;
  urls.endpoint = `https://localhost:${port}`;
  return {
    endpoint: urls.endpoint,
    holdOperations: (on) => lros.hold(on),
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        lros.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
