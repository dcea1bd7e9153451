/**
 * Starts the real mlx-manager binary for a test: an in-memory store, a fresh
 * data directory, a free loopback port, cheap Argon2 parameters, and a working
 * directory with no `config.toml`. `stop()` ends it (SIGTERM, then SIGKILL).
 *
 * The binary is `$MLX_MANAGER_BIN` when set; otherwise it is built with
 * `cargo build --bin mlx-manager` under `flock --close /tmp/mlx-cargo.lock` (one cargo
 * at a time on a shared machine) and copied out of the shared target directory
 * while the lock is held, so another worktree's build cannot swap it.
 *
 * `fakeModelServer()` builds and copies the test stand-in for a model server
 * (`fake-model-server`, feature `test-support`) the same way, for tests that
 * run model servers behind the gateway.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** openapi/client, whether running from test/ or build/test/. */
export const packageDir = (() => {
  let dir = resolve(fileURLToPath(import.meta.url), '..');
  while (!existsSync(join(dir, 'package.json'))) dir = resolve(dir, '..');
  return dir;
})();
export const repoDir = resolve(packageDir, '../..');
export const openapiPath = join(repoDir, 'openapi/openapi.json');

const CARGO_LOCK = '/tmp/mlx-cargo.lock';
const READY_DEADLINE_MS = 60_000;
const STOP_DEADLINE_MS = 10_000;

let binary: Promise<{ path: string; cleanup: () => Promise<void> }> | undefined;

function hasFlock(): boolean {
  try {
    execFileSync('flock', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function buildBinary(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const fromEnv = process.env.MLX_MANAGER_BIN;
  if (fromEnv) return { path: fromEnv, cleanup: async () => {} };

  const dir = await mkdtemp(join(tmpdir(), 'mlx-manager-bin-'));
  const dest = join(dir, 'mlx-manager');
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/mlx-manager/target');
  const script = 'cargo build --quiet --bin mlx-manager && cp "$CARGO_TARGET_DIR/debug/mlx-manager" "$1"';
  const [cmd, args] = hasFlock()
    ? ['flock', ['--close', CARGO_LOCK, 'sh', '-c', script, 'sh', dest]]
    : ['sh', ['-c', script, 'sh', dest]];
  const started = Date.now();
  execFileSync(cmd, args, {
    cwd: repoDir,
    env: { ...process.env, CARGO_TARGET_DIR: targetDir },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  console.log(`built mlx-manager in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { path: dest, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /** What the server printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

let fake: Promise<string> | undefined;

/** The path of a copied `fake-model-server` binary (built once per run). */
export function fakeModelServer(): Promise<string> {
  fake ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlx-manager-fake-'));
    const dest = join(dir, 'fake-model-server');
    const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache/mlx-manager/target');
    const script =
      'cargo build --quiet --features test-support --bin fake-model-server && cp "$CARGO_TARGET_DIR/debug/fake-model-server" "$1"';
    const [cmd, args] = hasFlock()
      ? ['flock', ['--close', CARGO_LOCK, 'sh', '-c', script, 'sh', dest]]
      : ['sh', ['-c', script, 'sh', dest]];
    execFileSync(cmd, args, {
      cwd: repoDir,
      env: { ...process.env, CARGO_TARGET_DIR: targetDir },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dest;
  })();
  return fake;
}

/** Start a server and wait until `/ready` answers 200; `configToml`, when
 * given, is its `config.toml` (read from its working directory). */
export async function startServer(configToml?: string): Promise<RunningServer> {
  binary ??= buildBinary();
  const bin = await binary;
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'mlx-manager-data-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('MLX_MANAGER_')) env[k] = v; // no stray config from the caller
  }
  Object.assign(env, {
    MLX_MANAGER_DATABASE__URL: 'mem://',
    MLX_MANAGER_SERVER__HOST: '127.0.0.1',
    MLX_MANAGER_SERVER__PORT: String(port),
    MLX_MANAGER_PATHS__DATA_DIR: dataDir,
    MLX_MANAGER_PLUGINS__AUTH__ARGON2__MEMORY_KIB: '1024',
    MLX_MANAGER_PLUGINS__AUTH__ARGON2__ITERATIONS: '1',
  });

  if (configToml !== undefined) await writeFile(join(dataDir, 'config.toml'), configToml);

  let log = '';
  const child: ChildProcess = spawn(bin.path, ['serve'], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  // Never leave the server behind, even when the test process is interrupted.
  const killOnExit = () => child.kill('SIGKILL');
  const killAndDie = (signal: NodeJS.Signals) => {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', killOnExit);
  process.once('SIGINT', killAndDie);
  process.once('SIGTERM', killAndDie);

  const server: RunningServer = {
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => log,
    async stop() {
      process.removeListener('exit', killOnExit);
      process.removeListener('SIGINT', killAndDie);
      process.removeListener('SIGTERM', killAndDie);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await server.stop();
      throw new Error(`mlx-manager exited before it was ready:\n${log}`);
    }
    try {
      const res = await fetch(`${server.baseUrl}/ready`);
      if (res.status === 200) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`mlx-manager was not ready within ${READY_DEADLINE_MS / 1000} s:\n${log}`);
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** Delete the copied binary (call once, after the last server stopped). */
export async function cleanupBinary(): Promise<void> {
  if (binary) await (await binary).cleanup();
}

/** The committed OpenAPI document. */
export function openapiDocument(): {
  paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; parameters?: { required?: boolean }[] }>>;
} {
  return JSON.parse(readFileSync(openapiPath, 'utf8'));
}
