/**
 * Swagger UI in a real browser (Debian's Chromium, driven by playwright-core):
 * Authorize with the OAuth2 password flow, then "Try it out" on `GET
 * /api/auth/me` and on `GET /api/system/memory`, as a person would. The token
 * Swagger UI obtained is then accepted by every protected GET the document lists,
 * and an API key entered in the Authorize dialog's `ApiKey` field works too.
 *
 * Chromium comes from `scripts/install-chromium.sh` (`CHROMIUM_PATH` overrides
 * /usr/bin/chromium). The screenshot is kept in test-artifacts/swagger-me.png.
 */

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { type BrowserContext, type Locator, type Page, chromium } from 'playwright-core';

import { type RunningServer, cleanupBinary, openapiDocument, packageDir, startServer } from './server.js';

const EMAIL = 'swagger-admin@example.com';
const PASSWORD = 'correct horse battery';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(packageDir, 'test-artifacts');
const UI_TIMEOUT_MS = 30_000;

/** Flags that keep Chromium off the network (it is closed here) and quiet. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Expand an operation, press "Try it out" then "Execute"; return its live response. */
async function tryItOut(page: Page, tag: string, operationId: string): Promise<{ status: string; body: string; live: Locator }> {
  const op = page.locator(`#operations-${tag}-${operationId}`);
  await op.locator('.opblock-summary').first().click();
  await op.getByRole('button', { name: 'Try it out' }).click();
  await op.getByRole('button', { name: 'Execute' }).click();
  const live = op.locator('.live-responses-table .response').first();
  await live.locator('.response-col_status').waitFor();
  const status = (await live.locator('.response-col_status').innerText()).trim();
  const body = await live.locator('.response-col_description pre').first().innerText();
  return { status, body, live };
}

describe('Swagger UI in Chromium', () => {
  let server: RunningServer;
  let context: BrowserContext;
  let profileDir: string;

  before(async () => {
    server = await startServer();
    const res = await fetch(`${server.baseUrl}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    assert.equal(res.status, 201, await res.text());

    profileDir = await mkdtemp(join(tmpdir(), 'mlx-chromium-profile-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    context.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  after(async () => {
    await context?.close();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
    await server?.stop();
    await cleanupBinary();
  });

  let accessToken: string;

  test('Authorize (OAuth2 password flow), then Try it out on GET /api/auth/me shows 200 and the email', async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.baseUrl}/docs`);

    await page.locator('.auth-wrapper .btn.authorize').click();
    const dialog = page.locator('.modal-ux');
    const oauth = dialog.locator('.auth-container').filter({ hasText: 'OAuth2PasswordBearer' });
    await oauth.locator('#oauth_username').fill(EMAIL);
    await oauth.locator('#oauth_password').fill(PASSWORD);

    const loginResponse = page.waitForResponse((r) => r.url().endsWith('/api/auth/login'));
    await oauth.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click();
    const login = await loginResponse;
    assert.equal(login.status(), 200, await login.text());
    const token = (await login.json()) as { access_token: string; token_type: string };
    assert.equal(token.token_type, 'bearer');
    accessToken = token.access_token;

    // Swagger UI says so, and offers to log out.
    await oauth.getByRole('button', { name: 'Remove authorization' }).waitFor(); // the "Logout" button
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('.auth-wrapper .btn.authorize.locked').waitFor();

    const meRequest = page.waitForRequest((r) => r.url().endsWith('/api/auth/me'));
    const { status, body, live } = await tryItOut(page, 'Auth', 'getMe');
    assert.equal((await meRequest).headers().authorization, `Bearer ${accessToken}`);
    assert.equal(status, '200');
    const me = JSON.parse(body) as { email: string; is_admin: boolean };
    assert.equal(me.email, EMAIL);
    assert.equal(me.is_admin, true);
    await live.getByText(EMAIL).first().waitFor(); // shown on the page, not only in the DOM's JSON

    await mkdir(ARTIFACTS, { recursive: true });
    await live.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-me.png') });
  });

  test('the same session works on another protected operation (GET /api/system/memory)', async () => {
    const page = context.pages()[0];
    assert.ok(page, 'the page from the first test');
    const { status, body } = await tryItOut(page, 'System', 'getSystemMemory');
    assert.equal(status, '200');
    const memory = JSON.parse(body) as { total_gb: number };
    assert.ok(memory.total_gb > 0);
  });

  test('the token Swagger UI obtained is accepted by every protected GET without parameters', async () => {
    assert.ok(accessToken, 'the token from the first test');
    const doc = openapiDocument();
    const checked: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      const op = ops.get;
      if (!op?.security?.length || path.includes('{') || op.parameters?.some((p) => p.required)) continue;
      const res = await fetch(`${server.baseUrl}${path}`, {
        headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
        signal: AbortSignal.timeout(UI_TIMEOUT_MS),
      });
      await res.body?.cancel(); // event streams never end
      // Accepted: neither "who are you?" nor "no" (the user is an admin).
      assert.ok(res.status !== 401 && res.status !== 403, `GET ${path} answered ${res.status}`);
      checked.push(path);
    }
    assert.ok(checked.includes('/api/auth/me') && checked.includes('/api/system/memory'), checked.join(', '));
  });

  test('an API key entered in the Authorize dialog is sent as X-API-Key and accepted', async () => {
    assert.ok(accessToken, 'the token from the first test');
    const res = await fetch(`${server.baseUrl}/api/auth/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'swagger ui' }),
    });
    const text = await res.text();
    assert.equal(res.status, 201, text);
    const { key } = JSON.parse(text) as { key: string };

    const page = await context.newPage(); // a fresh Swagger UI, not authorized
    await page.goto(`${server.baseUrl}/docs`);
    await page.locator('.auth-wrapper .btn.authorize').click();
    const dialog = page.locator('.modal-ux');
    const apiKey = dialog.locator('.auth-container').filter({ hasText: 'X-API-Key' });
    await apiKey.locator('input').first().fill(key);
    await apiKey.getByRole('button', { name: 'Apply credentials' }).click();
    await apiKey.getByRole('button', { name: 'Remove authorization' }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await dialog.waitFor({ state: 'detached' });

    const meRequest = page.waitForRequest((r) => r.url().endsWith('/api/auth/me'));
    const { status, body } = await tryItOut(page, 'Auth', 'getMe');
    const sent = (await meRequest).headers();
    assert.equal(sent['x-api-key'], key);
    assert.equal(sent.authorization, undefined, 'the key alone authenticates');
    assert.equal(status, '200');
    assert.equal((JSON.parse(body) as { email: string }).email, EMAIL);
    await page.close();
  });
});
