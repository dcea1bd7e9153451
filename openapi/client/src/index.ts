/**
 * The mlx-manager API client: the SDK generated from `../openapi.json` (one
 * function per operationId, re-exported here) plus a small hand-written layer:
 *
 * - `createApiClient({ baseUrl, tokenStore, onUnauthorized })` gives a client
 *   whose middleware sends `Authorization: Bearer <token>` from the token store
 *   and, when a request that carried the stored token gets 401 (expired,
 *   revoked, or the account was disabled), clears the store and calls
 *   `onUnauthorized`.
 * - `createApiClient({ baseUrl, apiKey })` authenticates every request with an
 *   API key (`Authorization: Bearer mlxm_...`) instead: for scripts. A 401
 *   (the key was revoked or expired, its owner disabled) calls `onUnauthorized`.
 * - `api.login(email, password)` posts the OAuth2 password grant as a form
 *   (`grant_type=password&username=...&password=...`) and stores the token.
 * - `streamUrl(client, path, query)` mints a single-use stream ticket for `path`
 *   and returns the URL with `?ticket=` for a browser's `EventSource`, which
 *   cannot send headers. The ticket is valid on that path only.
 * - `serverLogEvents(client, profileId)` and `downloadEvents(client, taskId)`:
 *   the two `text/event-stream` operations as async iterators of typed events
 *   that throw `ApiRequestError` when the stream is refused. (The generated
 *   `streamServerLogs` and `streamDownloadEvents` type each event as an array,
 *   from the document's `type: array, format: event-stream`, retry a refused
 *   stream forever by default, and drop the error body.)
 *
 * ```ts
 * import { createApiClient, getMe } from '@mlx-manager/client';
 * const api = createApiClient({ baseUrl: 'http://127.0.0.1:8080', onUnauthorized: () => showLogin() });
 * await api.login('me@example.com', 'secret-password');
 * const { data: me } = await getMe({ client: api.client });
 * ```
 */

import { type Client, createClient, createConfig } from './generated/client/index.js';
import {
  createStreamTicket,
  login as loginOperation,
  logout as logoutOperation,
  streamDownloadEvents,
  streamServerLogs,
} from './generated/sdk.gen.js';
import type { ApiError, DownloadTask, LogEvent, Token } from './generated/types.gen.js';

export * from './generated/index.js';
export { client as defaultClient } from './generated/client.gen.js';
export type { Client } from './generated/client/index.js';

/** Where the access token lives (memory, `localStorage`, a keychain...). */
export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

/** A token store that keeps the token in memory. */
export function memoryTokenStore(initial: string | null = null): TokenStore {
  let token = initial;
  return {
    get: () => token,
    set: (t) => {
      token = t;
    },
    clear: () => {
      token = null;
    },
  };
}

/** What `createApiClient` needs. */
export interface ApiClientOptions {
  /** The server's origin, e.g. `http://127.0.0.1:8080` (paths start with `/api`). */
  baseUrl: string;
  /** Defaults to a new `memoryTokenStore()`. */
  tokenStore?: TokenStore;
  /**
   * An API key (`mlxm_<id>_<secret>`, from `createApiKey`): sent as
   * `Authorization: Bearer <key>` on every request instead of a stored token.
   * Such a client cannot `login` (keys never manage keys, sessions or passwords).
   */
  apiKey?: string;
  /** Called after a 401 to a request that carried the stored token; the store is already cleared. */
  onUnauthorized?: (response: Response) => void;
  /** The hey-api client to configure; defaults to a new one. Pass `defaultClient` to make bare SDK calls (`getMe()`) use it. */
  client?: Client;
  /** A `fetch` implementation; defaults to the global one. */
  fetch?: typeof fetch;
}

/** A configured client, its token store, and login/logout. */
export interface ApiClient {
  /** Pass as `{ client }` to any SDK function. */
  client: Client;
  tokens: TokenStore;
  /** Log in with the OAuth2 password grant; stores and returns the token. Throws `ApiRequestError` on failure. */
  login(email: string, password: string): Promise<Token>;
  /** Revoke the stored token on the server, then forget it (a no-op for an API-key client). */
  logout(): Promise<void>;
}

/** A failed call: the HTTP status and the server's `{detail, code}`. */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string | undefined;

  constructor(status: number, body: Partial<ApiError> | undefined) {
    super(`${status} ${body?.code ?? 'error'}: ${body?.detail ?? 'request failed'}`);
    this.name = 'ApiRequestError';
    this.status = status;
    this.code = body?.code;
    this.detail = body?.detail;
  }
}

/** A client with the bearer-token middleware installed. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const tokens = options.tokenStore ?? memoryTokenStore();
  const client = options.client ?? createClient(createConfig());
  client.setConfig({ baseUrl: options.baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });

  const apiKey = options.apiKey;
  client.interceptors.request.use((request) => {
    const credential = apiKey ?? tokens.get();
    if (credential && !request.headers.has('Authorization')) {
      request.headers.set('Authorization', `Bearer ${credential}`);
    }
    return request;
  });

  client.interceptors.response.use((response, request) => {
    const credential = apiKey ?? tokens.get();
    // Only a 401 to a request that carried our credential means it is no longer
    // valid; a 401 from a wrong password at login does not.
    if (response.status === 401 && credential && request.headers.get('Authorization') === `Bearer ${credential}`) {
      if (!apiKey) tokens.clear();
      options.onUnauthorized?.(response);
    }
    return response;
  });

  return {
    client,
    tokens,
    async login(email, password) {
      if (apiKey) throw new Error('This client authenticates with an API key; create one without `apiKey` to log in.');
      const { data, error, response } = await loginOperation({
        client,
        body: { grant_type: 'password', username: email, password },
      });
      if (!data) throw new ApiRequestError(response?.status ?? 0, error as ApiError | undefined);
      tokens.set(data.access_token);
      return data;
    },
    async logout() {
      if (apiKey || !tokens.get()) return;
      const { error, response } = await logoutOperation({ client });
      tokens.clear();
      if (error && response?.status !== 401) throw new ApiRequestError(response?.status ?? 0, error as ApiError);
    },
  };
}

/**
 * Wrap a generated event-stream call: no retries, each event as one `T`, and a
 * refused stream (401, 404...) thrown as `ApiRequestError` with the server's body.
 */
async function* events<T>(
  client: Client,
  open: (options: {
    fetch: typeof fetch;
    sseMaxRetryAttempts: number;
    onSseError: (error: unknown) => void;
  }) => Promise<{ stream: AsyncGenerator<unknown> }>,
): AsyncGenerator<T> {
  let refused: Response | undefined;
  let failure: unknown;
  const base = client.getConfig().fetch ?? globalThis.fetch;
  const { stream } = await open({
    fetch: async (input, init) => {
      const response = await base(input, init);
      if (!response.ok) refused = response.clone();
      return response;
    },
    sseMaxRetryAttempts: 1,
    onSseError: (error) => {
      failure = error;
    },
  });
  for await (const event of stream) yield event as T;
  if (refused) {
    const body = (await refused.json().catch(() => undefined)) as Partial<ApiError> | undefined;
    throw new ApiRequestError(refused.status, body);
  }
  if (failure) throw failure;
}

/**
 * `GET /api/servers/{profile_id}/logs` (`streamServerLogs`): the last `lines` lines
 * (default 100), then new ones; ends with a `stopped` event when the server exits
 * (at once when it does not run).
 */
export function serverLogEvents(client: Client, profileId: string, lines?: number): AsyncGenerator<LogEvent> {
  return events<LogEvent>(client, (sse) =>
    streamServerLogs({ client, path: { profile_id: profileId }, ...(lines === undefined ? {} : { query: { lines } }), ...sse }),
  );
}

/**
 * `GET /api/models/downloads/{task_id}/events` (`streamDownloadEvents`): the task's
 * state at once, then every change, ending after a final status.
 */
export function downloadEvents(client: Client, taskId: string): AsyncGenerator<DownloadTask> {
  return events<DownloadTask>(client, (sse) => streamDownloadEvents({ client, path: { task_id: taskId }, ...sse }));
}

/**
 * A URL for a browser's `EventSource` (which cannot send headers): mints a
 * single-use stream ticket for `path` (`POST /api/auth/stream-ticket`) and
 * returns `baseUrl + path + ?ticket=...` with `query` added. The ticket works
 * once, within a minute, on that path only, and dies with the login or key
 * that minted it. Throws `ApiRequestError` when minting is refused.
 */
export async function streamUrl(client: Client, path: string, query: Record<string, string | number> = {}): Promise<string> {
  const { data, error, response } = await createStreamTicket({ client, body: { path } });
  if (!data) throw new ApiRequestError(response?.status ?? 0, error as ApiError | undefined);
  const params = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  params.set('ticket', data.ticket);
  const base = (client.getConfig().baseUrl ?? '').replace(/\/+$/, '');
  return `${base}${path}?${params.toString()}`;
}
