/**
 * The official `openai` npm SDK against the gateway at `/v1`: a real manager
 * running a real model-server process (the repo's `fake-model-server`, which
 * answers in OpenAI's shapes), reached with an API key from the generated client.
 */

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import OpenAI from 'openai';

import { createApiClient, createApiKey, createProfile, getUsage, register, startServer as startModel } from '../src/index.js';
import { type RunningServer, cleanupBinary, fakeModelServer, startServer } from './server.js';

const PASSWORD = 'correct horse battery';
const ADMIN = 'admin@example.com';

describe('the openai SDK through the gateway', () => {
  let server: RunningServer;
  let openai: OpenAI;
  let key: string;
  let admin: ReturnType<typeof createApiClient>;

  before(async () => {
    const fake = await fakeModelServer();
    const args = ['--model-path', '{model_path}', '--port', '{port}', '--host', '{host}', '--model-type', '{model_type}'];
    server = await startServer(
      [
        '[servers]',
        `program = ${JSON.stringify(fake)}`,
        `args = ${JSON.stringify(args)}`,
        'start_grace = "200ms"',
        'start_timeout = "20s"',
        'stop_timeout = "2s"',
      ].join('\n'),
    );
    admin = createApiClient({ baseUrl: server.baseUrl });
    await register({ client: admin.client, body: { email: ADMIN, password: PASSWORD } });
    await admin.login(ADMIN, PASSWORD);
    const profile = await createProfile({ client: admin.client, body: { name: 'qwen', model_path: 'org/qwen' } });
    assert.equal(profile.response.status, 201, JSON.stringify(profile.error));
    await createProfile({
      client: admin.client,
      body: { name: 'embed', model_path: 'org/embed', model_type: 'embeddings', on_demand: true },
    });
    const started = await startModel({ client: admin.client, path: { profile_id: profile.data!.id } });
    assert.equal(started.response.status, 200, JSON.stringify(started.error));
    const created = await createApiKey({ client: admin.client, body: { name: 'openai sdk', models: ['qwen', 'embed'] } });
    assert.equal(created.response.status, 201, JSON.stringify(created.error));
    key = created.data!.key;
    openai = new OpenAI({ apiKey: key, baseURL: `${server.baseUrl}/v1`, maxRetries: 0 });
  });

  after(async () => {
    await server?.stop();
    await cleanupBinary();
  });

  test('models.list shows the profiles the key may use', async () => {
    const ids = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    assert.deepEqual(ids.sort(), ['embed', 'qwen']);
  });

  test('a chat completion, not streamed', async () => {
    const answer = await openai.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(answer.object, 'chat.completion');
    assert.equal(answer.choices[0]?.message.content, 'Hello from the fake server.');
    assert.equal(answer.usage?.total_tokens, 12);
  });

  test('a chat completion streamed chunk by chunk, with the usage chunk last', async () => {
    const stream = await openai.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
      // The fake server's steering, passed through unchanged.
      ...({ fake: { chunks: 5 } } as object),
    });
    let text = '';
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, 'tok0 tok1 tok2 tok3 tok4 ');
    assert.equal(usage?.completion_tokens, 7);
  });

  test('embeddings from an on-demand profile, started by the request', async () => {
    // Floats: the SDK otherwise asks for base64, which the fake server does not encode.
    const answer = await openai.embeddings.create({ model: 'embed', input: 'x', encoding_format: 'float' });
    assert.deepEqual(answer.data[0]?.embedding, [0.1, 0.2, 0.3]);
  });

  test('errors reach the SDK as its own error classes with the gateway code', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'nope', messages: [] }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
    );
    const stranger = new OpenAI({ apiKey: 'mlxm_0000000000000000_wrong', baseURL: `${server.baseUrl}/v1`, maxRetries: 0 });
    await assert.rejects(stranger.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');

    const limited = await createApiKey({ client: admin.client, body: { name: 'one a minute', rpm: 1 } });
    const slow = new OpenAI({ apiKey: limited.data!.key, baseURL: `${server.baseUrl}/v1`, maxRetries: 0 });
    await slow.completions.create({ model: 'qwen', prompt: 'x' });
    await assert.rejects(
      slow.completions.create({ model: 'qwen', prompt: 'x' }),
      (e: unknown) => e instanceof OpenAI.RateLimitError && e.code === 'rate_limited' && Number(e.headers?.get('retry-after')) >= 1,
    );
  });

  test('the generated client reads the usage the SDK calls left, with their token counts', async () => {
    // Two chat completions and one embedding named a profile (the unknown
    // model did not); records are written about once a second.
    type Row = { group: string; requests: number; errors: number; prompt_tokens: number; completion_tokens: number };
    let mine: Row | undefined;
    for (let i = 0; i < 50 && mine?.requests !== 3; i++) {
      const usage = await getUsage({ client: admin.client, query: { group_by: 'key' } });
      assert.equal(usage.response.status, 200, JSON.stringify(usage.error));
      mine = (usage.data ?? []).find((r) => key.startsWith(`${r.group}_`));
      await new Promise((ok) => setTimeout(ok, 200));
    }
    assert.deepEqual(
      mine && [mine.requests, mine.errors, mine.prompt_tokens, mine.completion_tokens],
      [3, 0, 15, 14],
      JSON.stringify(mine),
    );
  });
});
