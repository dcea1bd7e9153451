// A consumer of the built package as plain Node runs it: no bundler, no
// TypeScript loader, the package installed from its `npm pack` tarball.
// test/package.test.ts copies this file next to that install and runs
// `node consumer.mjs <server origin>`; it prints one JSON line of what it saw.
import {
  ApiRequestError,
  createApiClient,
  createProfile,
  deleteProfile,
  getMe,
  listProfiles,
  register,
} from '@mlx-manager/client';

const baseUrl = process.argv[2];
const email = 'plain-node@example.com';
const password = 'correct horse battery';

const unauthorized = [];
const api = createApiClient({ baseUrl, onUnauthorized: (r) => unauthorized.push(r.status) });
const registered = await register({ client: api.client, body: { email, password } });

let wrongPassword;
try {
  await api.login(email, 'wrong password!');
} catch (err) {
  wrongPassword = err instanceof ApiRequestError ? `${err.status} ${err.code}` : String(err);
}

await api.login(email, password);
const me = await getMe({ client: api.client });
const created = await createProfile({
  client: api.client,
  body: { name: 'plain-node', model_path: 'mlx-community/Qwen3-0.6B-4bit', model_type: 'lm' },
});
const listed = await listProfiles({ client: api.client });
const deleted = await deleteProfile({ client: api.client, path: { id: created.data.id } });

api.tokens.set('not-a-token');
const rejected = await getMe({ client: api.client });

console.log(
  JSON.stringify({
    registered: registered.response.status,
    wrongPassword,
    me: me.data?.email,
    created: created.response.status,
    listed: listed.data?.map((p) => p.name),
    deleted: deleted.response.status,
    rejected: [rejected.response.status, rejected.error?.code],
    unauthorized,
  }),
);
