// Fails when src/generated/ is not what `npm run generate` makes from
// ../openapi.json today: the document changed and the client was not
// regenerated (or the generated code was edited by hand).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@hey-api/openapi-ts';
import config from '../openapi-ts.config.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const committed = join(root, config.output.path);

async function files(dir) {
  const out = new Map();
  async function walk(d) {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out.set(relative(dir, p), await readFile(p, 'utf8'));
    }
  }
  await walk(dir);
  return out;
}

const temp = await mkdtemp(join(tmpdir(), 'mlx-client-gen-'));
try {
  await createClient({
    ...config,
    input: resolve(root, config.input),
    output: { ...config.output, path: temp },
  });
  const [want, have] = await Promise.all([files(temp), files(committed).catch(() => new Map())]);
  const problems = [];
  for (const [name, text] of want) {
    if (!have.has(name)) problems.push(`missing: ${name}`);
    else if (have.get(name) !== text) problems.push(`differs: ${name}`);
  }
  for (const name of have.keys()) if (!want.has(name)) problems.push(`not generated: ${name}`);
  if (problems.length > 0) {
    console.error(`src/generated/ is stale against ../openapi.json:\n  ${problems.join('\n  ')}`);
    console.error('Run `npm run generate` in openapi/client (after `cargo run -- openapi --output openapi/openapi.json`) and commit the result.');
    process.exitCode = 1;
  } else {
    console.log(`src/generated/ matches ../openapi.json (${want.size} files)`);
  }
} finally {
  await rm(temp, { recursive: true, force: true });
}
