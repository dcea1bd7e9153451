/**
 * The lint configuration catches the mistakes a new endpoint can make: each
 * mutation of the committed document below must be reported by its rule, at
 * its place. (The committed document itself passes: `npm run lint:openapi`.)
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { openapiPath, packageDir, repoDir } from './server.js';

type Json = Record<string, any>;
interface Problem {
  ruleId: string;
  location: { pointer: string }[];
}

async function lint(doc: Json): Promise<Problem[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mlx-lint-'));
  try {
    const file = join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc, null, 2));
    const redocly = join(packageDir, 'node_modules/.bin/redocly');
    const args = ['lint', '--config', join(repoDir, 'openapi/redocly.yaml'), '--format=json', file];
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
    // Exit code 1 means "problems found": that is what this test wants.
    const out = await promisify(execFile)(redocly, args, { env, maxBuffer: 64 << 20 }).catch(
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
    );
    const json = out.stdout.slice(out.stdout.indexOf('{'));
    return (JSON.parse(json) as { problems: Problem[] }).problems;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

test('each lint rule reports the endpoint mistake it exists for', async () => {
  const doc = JSON.parse(await readFile(openapiPath, 'utf8')) as Json;
  const me = doc.paths['/api/auth/me'].get;
  const logout = doc.paths['/api/auth/logout'].post;
  const users = doc.paths['/api/auth/users'].get;
  const schemas = doc.components.schemas;

  delete me.summary; // operation-summary
  me.tags = []; // mlx/operation-tagged
  delete me.responses['200'].content; // mlx/response-has-schema
  me.responses['404'].content[JSON_TYPE].schema = { $ref: '#/components/schemas/Message' }; // mlx/error-responses-use-api-error
  logout.operationId = 'do_logout'; // rule/operation-id-lower-camel-case
  delete logout.responses['401']; // mlx/secured-operation-has-401
  delete users.security; // security-defined
  delete users.description; // operation-description
  delete users.responses['200'].content[JSON_TYPE].schema; // mlx/response-has-schema (media type)
  schemas.User.properties.status = { type: 'string', enum: ['a', 'b'] }; // mlx/no-inline-enum
  schemas.Message.properties.message = {}; // mlx/no-untyped-schema
  schemas.PendingCount.properties.extra = { type: 'object' }; // mlx/no-untyped-schema (bare object)
  // The gateway's errors are OpenAI's object, not ApiError (and only there).
  const chat = doc.paths['/v1/chat/completions'].post;
  chat.responses['404'].content['application/json'].schema = { $ref: '#/components/schemas/ApiError' };
  me.responses['403'].content[JSON_TYPE].schema = { $ref: '#/components/schemas/GatewayError' };

  const problems = await lint(doc);
  const found = new Set(problems.flatMap((p) => p.location.map((l) => `${p.ruleId} ${l.pointer}`)));
  const expected = [
    'operation-summary #/paths/~1api~1auth~1me/get/summary',
    'mlx/operation-tagged #/paths/~1api~1auth~1me/get',
    'mlx/response-has-schema #/paths/~1api~1auth~1me/get/responses/200',
    'mlx/error-responses-use-api-error #/paths/~1api~1auth~1me/get/responses/404',
    'rule/operation-id-lower-camel-case #/paths/~1api~1auth~1logout/post/operationId',
    'mlx/secured-operation-has-401 #/paths/~1api~1auth~1logout/post/responses',
    'security-defined #/paths/~1api~1auth~1users/get',
    'operation-description #/paths/~1api~1auth~1users/get/description',
    `mlx/response-has-schema #/paths/~1api~1auth~1users/get/responses/200/content/${JSON_TYPE.replace('/', '~1')}`,
    'mlx/no-inline-enum #/components/schemas/User/properties/status/enum',
    'mlx/no-untyped-schema #/components/schemas/Message/properties/message',
    'mlx/no-untyped-schema #/components/schemas/PendingCount/properties/extra',
    'mlx/error-responses-use-api-error #/paths/~1v1~1chat~1completions/post/responses/404',
    'mlx/error-responses-use-api-error #/paths/~1api~1auth~1me/get/responses/403',
  ];
  const missing = expected.filter((e) => !found.has(e));
  assert.deepEqual(missing, [], `not reported; reported were:\n${[...found].sort().join('\n')}`);
});
