/**
 * The generated client and its hand-written layer against a real server: the
 * account lifecycle a frontend goes through, through the SDK functions only.
 */

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import * as sdk from '../src/index.js';
import {
  ApiRequestError,
  createApiClient,
  createApiKey,
  getMe,
  listApiKeys,
  listUsers,
  logout,
  register,
  revokeApiKey,
  streamUrl,
  updateUser,
} from '../src/index.js';
import { type RunningServer, cleanupBinary, openapiDocument, startServer } from './server.js';

const PASSWORD = 'correct horse battery';
const ADMIN = 'admin@example.com';
const USER = 'user@example.com';

test('the SDK exports one function per operationId in the document', () => {
  const ids = Object.values(openapiDocument().paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
  const exported = sdk as unknown as Record<string, unknown>;
  assert.ok(ids.length > 0);
  assert.deepEqual(
    ids.filter((id) => typeof exported[id ?? ''] !== 'function'),
    [],
  );
});

describe('TypeScript client against a live server', () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server?.stop();
    await cleanupBinary();
  });

  const adminUnauthorized: Response[] = [];
  const userUnauthorized: Response[] = [];
  let admin: sdk.ApiClient;
  let user: sdk.ApiClient;

  test('the first account registers as an approved admin', async () => {
    admin = createApiClient({ baseUrl: server.baseUrl, onUnauthorized: (r) => adminUnauthorized.push(r) });
    const { data, response } = await register({ client: admin.client, body: { email: ADMIN, password: PASSWORD } });
    assert.equal(response.status, 201);
    assert.equal(data?.email, ADMIN);
    assert.equal(data?.is_admin, true);
    assert.equal(data?.status, 'approved');
  });

  test('a wrong password is 401 and does not count as a lost session', async () => {
    await assert.rejects(admin.login(ADMIN, 'wrong password!'), (err: unknown) => {
      assert.ok(err instanceof ApiRequestError);
      assert.equal(err.status, 401);
      assert.equal(err.detail, 'Incorrect email or password');
      return true;
    });
    assert.equal(adminUnauthorized.length, 0);
  });

  test('login (form-urlencoded) stores a bearer token that `me` accepts', async () => {
    const token = await admin.login(ADMIN, PASSWORD);
    assert.equal(token.token_type, 'bearer');
    assert.ok(token.expires_in > 0);
    assert.equal(admin.tokens.get(), token.access_token);

    const { data, response } = await getMe({ client: admin.client });
    assert.equal(response.status, 200);
    assert.equal(data?.email, ADMIN);
  });

  let profileId: string | undefined;

  test('create and list a profile', async (t) => {
    const doc = openapiDocument();
    const createId = doc.paths['/api/profiles']?.post?.operationId;
    const listId = doc.paths['/api/profiles']?.get?.operationId;
    if (!createId || !listId) {
      t.skip('POST/GET /api/profiles are not in openapi/openapi.json yet (profiles API not merged)');
      return;
    }
    // Looked up by the document's operationIds, so this compiles before and
    // after the profiles API lands.
    type SdkCall = (options: Record<string, unknown>) => Promise<{ data?: unknown; error?: unknown; response: Response }>;
    const ops = sdk as unknown as Record<string, SdkCall | undefined>;
    const create = ops[createId];
    const list = ops[listId];
    assert.ok(create && list, `the generated SDK has ${createId} and ${listId} (run npm run generate)`);

    const body = { name: 'ts-client-profile', model_path: 'mlx-community/Qwen3-0.6B-4bit', port: 10240 };
    const created = await create({ client: admin.client, body });
    assert.equal(created.response.status, 201, JSON.stringify(created.error));
    const profile = created.data as { id: string; name: string; model_path: string; port: number };
    assert.equal(profile.name, body.name);
    assert.equal(profile.model_path, body.model_path);
    assert.equal(profile.port, body.port);

    profileId = profile.id;

    const listed = await list({ client: admin.client });
    assert.equal(listed.response.status, 200);
    const profiles = listed.data as { id: string; name: string }[];
    assert.deepEqual(
      profiles.filter((p) => p.id === profile.id).map((p) => p.name),
      [body.name],
    );
  });

  test('serverLogEvents yields typed events: the log of a server that does not run ends with `stopped`', async (t) => {
    if (!profileId) {
      t.skip('no profile was created');
      return;
    }
    const events: sdk.LogEvent[] = [];
    for await (const event of sdk.serverLogEvents(admin.client, profileId, 5)) events.push(event);
    assert.equal(events.at(-1)?.event, 'stopped');

    // The generated function itself streams the same events.
    const { stream } = await sdk.streamServerLogs({
      client: admin.client,
      path: { profile_id: profileId },
      query: { lines: 5 },
      sseMaxRetryAttempts: 1,
    });
    const raw: unknown[] = [];
    for await (const event of stream) raw.push(event);
    assert.deepEqual(raw, events);
  });

  test('a refused event stream throws ApiRequestError with the server\'s code', async () => {
    await assert.rejects(
      async () => {
        for await (const _ of sdk.serverLogEvents(admin.client, 'no-such-profile')) void _;
      },
      (err: unknown) => {
        assert.ok(err instanceof ApiRequestError);
        assert.equal(err.status, 404);
        assert.equal(err.code, 'profile_not_found');
        return true;
      },
    );
    await assert.rejects(
      async () => {
        for await (const _ of sdk.downloadEvents(admin.client, 'no-such-task')) void _;
      },
      (err: unknown) => err instanceof ApiRequestError && err.status === 404 && err.code === 'task_not_found',
    );
  });

  test('streamUrl mints a ticket that opens its stream once, without headers, and only on its path', async (t) => {
    if (!profileId) {
      t.skip('no profile was created');
      return;
    }
    const path = `/api/servers/${profileId}/logs`;
    const url = await streamUrl(admin.client, path, { lines: 5 });
    assert.ok(url.startsWith(`${server.baseUrl}${path}?`));
    const opened = await fetch(url);
    assert.equal(opened.status, 200);
    assert.match(opened.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(await opened.text(), /stopped/);
    const again = await fetch(url);
    assert.equal(again.status, 401, 'a ticket works once');

    const elsewhere = new URL(await streamUrl(admin.client, '/api/servers/another/logs'));
    const refused = await fetch(`${server.baseUrl}${path}${elsewhere.search}`);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as sdk.ApiError).code, 'invalid_ticket');
  });

  test('an API key client calls the API with the key, cannot manage keys, and hears of its revocation', async () => {
    const created = await createApiKey({ client: admin.client, body: { name: 'ts-client script' } });
    assert.equal(created.response.status, 201, JSON.stringify(created.error));
    const key = created.data!.key;
    assert.match(key, /^mlxm_[0-9a-f]{16}_[A-Za-z0-9]{40}$/);
    assert.equal(created.data!.prefix, `mlxm_${created.data!.id}`);

    const lost: Response[] = [];
    const script = createApiClient({ baseUrl: server.baseUrl, apiKey: key, onUnauthorized: (r) => lost.push(r) });
    const me = await getMe({ client: script.client });
    assert.equal(me.response.status, 200);
    assert.equal(me.data?.email, ADMIN);
    await assert.rejects(script.login(ADMIN, PASSWORD), /API key/);

    const nested = await createApiKey({ client: script.client, body: { name: 'from a key' } });
    assert.equal(nested.response.status, 403);
    assert.equal((nested.error as sdk.ApiError | undefined)?.code, 'login_token_required');

    const listed = await listApiKeys({ client: admin.client });
    assert.deepEqual(
      listed.data?.map((k) => k.name),
      ['ts-client script'],
    );
    const revoked = await revokeApiKey({ client: admin.client, path: { id: created.data!.id } });
    assert.equal(revoked.response.status, 204);
    const after = await getMe({ client: script.client });
    assert.equal(after.response.status, 401);
    assert.equal((after.error as sdk.ApiError | undefined)?.code, 'invalid_api_key');
    assert.equal(lost.length, 1);
    assert.equal(adminUnauthorized.length, 0);
  });

  let pendingId: string;

  test('a second account is pending, and its login is 403 "Account pending approval"', async () => {
    user = createApiClient({ baseUrl: server.baseUrl, onUnauthorized: (r) => userUnauthorized.push(r) });
    const { data, response } = await register({ client: user.client, body: { email: USER, password: PASSWORD } });
    assert.equal(response.status, 201);
    assert.equal(data?.status, 'pending');
    assert.equal(data?.is_admin, false);
    pendingId = data!.id;

    await assert.rejects(user.login(USER, PASSWORD), (err: unknown) => {
      assert.ok(err instanceof ApiRequestError);
      assert.equal(err.status, 403);
      assert.equal(err.detail, 'Account pending approval');
      assert.equal(err.code, 'account_pending');
      return true;
    });
    assert.equal(user.tokens.get(), null);
    assert.equal(userUnauthorized.length, 0);
  });

  test('the admin sees and approves the pending account; then it logs in', async () => {
    const pending = await listUsers({ client: admin.client, query: { status: 'pending' } });
    assert.deepEqual(
      pending.data?.map((u) => u.email),
      [USER],
    );

    const { data, response } = await updateUser({
      client: admin.client,
      path: { id: pendingId },
      body: { status: 'approved' },
    });
    assert.equal(response.status, 200);
    assert.equal(data?.status, 'approved');
    assert.ok(data?.approved_at, 'approval time recorded');

    await user.login(USER, PASSWORD);
    const me = await getMe({ client: user.client });
    assert.equal(me.response.status, 200);
    assert.equal(me.data?.email, USER);
    assert.equal(me.data?.is_admin, false);
  });

  test('getMetrics reads OpenMetrics text for the admin and is 403 for a user', async () => {
    const { data, response } = await sdk.getMetrics({ client: admin.client, parseAs: 'text' });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
    assert.equal(typeof data, 'string');
    const text = data as unknown as string;
    assert.match(text, /^http_requests_total\{route="\/api\/auth\/me",method="GET",status="200"\} [1-9]/m);
    assert.match(text, /^auth_users\{status="approved"\} 2(\.0)?$/m);
    assert.ok(text.endsWith('# EOF\n'));

    const refused = await sdk.getMetrics({ client: user.client });
    assert.equal(refused.response.status, 403);
  });

  test('a revoked token reaches onUnauthorized and is cleared', async () => {
    const revoked = user.tokens.get();
    assert.ok(revoked);
    const out = await logout({ client: user.client }); // the SDK call: the server revokes, the store keeps it
    assert.equal(out.response.status, 204);
    assert.equal(user.tokens.get(), revoked);

    const me = await getMe({ client: user.client });
    assert.equal(me.response.status, 401);
    assert.equal((me.error as sdk.ApiError | undefined)?.code, 'token_revoked');
    assert.equal(userUnauthorized.length, 1);
    assert.equal(userUnauthorized[0]?.status, 401);
    assert.equal(user.tokens.get(), null);

    // The admin's session is untouched.
    const adminMe = await getMe({ client: admin.client });
    assert.equal(adminMe.data?.email, ADMIN);
    assert.equal(adminUnauthorized.length, 0);
  });
});
