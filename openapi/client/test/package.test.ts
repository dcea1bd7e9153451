/**
 * The package as a consumer gets it: `npm pack` (what `files` and `exports`
 * ship), installed from the tarball into an empty project outside this one, then
 * imported by name from a plain `.mjs` file run by plain `node` (no bundler, no
 * TypeScript loader) against a live server, and type-checked from a `.ts` file
 * through the `types` condition. `npm test` builds dist/ first.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { type RunningServer, cleanupBinary, packageDir, startServer } from './server.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the packed package in a plain Node project', () => {
  let server: RunningServer;
  let consumer: string;
  let tarball: string;

  before(async () => {
    consumer = mkdtempSync(join(tmpdir(), 'mlx-client-consumer-'));
    // dist/ is already built; --ignore-scripts keeps `prepare` from building it again.
    const packed = JSON.parse(
      execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', consumer], {
        cwd: packageDir,
        encoding: 'utf8',
      }),
    ) as { filename: string; files: { path: string }[] }[];
    tarball = join(consumer, packed[0]!.filename);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // A tarball without dependencies installs with no registry at all.
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], {
      cwd: consumer,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    copyFileSync(join(packageDir, 'test/consumer/consumer.mjs'), join(consumer, 'consumer.mjs'));
    copyFileSync(join(packageDir, 'test/consumer/types.ts'), join(consumer, 'types.ts'));
    server = await startServer();
  });

  after(async () => {
    await server?.stop();
    await cleanupBinary();
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  test('the tarball ships JavaScript and declarations only, and exports both', () => {
    const installed = join(consumer, 'node_modules/@mlx-manager/client');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    assert.deepEqual(manifest.exports, { '.': { types: './dist/index.d.ts', import: './dist/index.js' } });
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/generated/sdk.gen.js', 'dist/generated/sdk.gen.d.ts']) {
      assert.ok(existsSync(join(installed, file)), `${file} is in the package`);
    }
    assert.ok(!existsSync(join(installed, 'src')), 'no TypeScript sources');
    assert.ok(!existsSync(join(installed, 'test')), 'no tests');
  });

  test('a plain .mjs file imports it by name and talks to the live server', () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_OPTIONS; // no loader, whatever the caller uses
    const out = execFileSync(process.execPath, ['consumer.mjs', server.baseUrl], {
      cwd: consumer,
      env,
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out.trim()), {
      registered: 201,
      wrongPassword: '401 invalid_credentials',
      me: 'plain-node@example.com',
      created: 201,
      listed: ['plain-node'],
      deleted: 204,
      rejected: [401, 'invalid_token'],
      unauthorized: [401],
    });
  });

  test('TypeScript resolves its declarations through the `types` condition', () => {
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ['types.ts'],
      }),
    );
    const tsc = join(packageDir, 'node_modules/typescript/bin/tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', consumer], { cwd: consumer, encoding: 'utf8' });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      assert.fail(`tsc failed on the installed package:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  });
});
