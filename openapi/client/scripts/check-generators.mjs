// Runs the three client generators the project supports on ../openapi.json and
// fails when any of them warns, or leaves out an operation or a schema, so that
// a new endpoint cannot silently break one of them:
//
// - @hey-api/openapi-ts (the committed TypeScript client's generator, with its
//   config in ../openapi-ts.config.mjs): nothing on stderr; every operationId is
//   an exported SDK function and every schema an exported type;
// - openapi-typescript: nothing on stderr; `operations[id]` exists for every
//   operationId, `paths[path][method]` is that operation, and every schema is in
//   `components["schemas"]`;
// - openapi-python-client (from the Python client's tools environment, made by
//   openapi/python/scripts/install.sh; `$OPENAPI_PYTHON_CLIENT` names another
//   executable): `--fail-on-warning` and no output but "Generating ..."; every
//   method and path has a generated function that handles every documented
//   status, and every schema is a model.
//
// The TypeScript checks are one `tsc --strict` run over a probe file that names
// every operation and schema, so a missing one is a compile error.
// Operations that use neither JSON nor a form (text/event-stream, multipart)
// must be named in the README, which says how to call them with each client.
//
//   node scripts/check-generators.mjs [document]   # default ../openapi.json
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = resolve(fileURLToPath(import.meta.url), '../..');
const repoDir = resolve(packageDir, '../..');
const documentPath = resolve(process.argv[2] ?? join(packageDir, '../openapi.json'));
const readmePath = join(repoDir, 'README.md');
const pythonGenerator =
  process.env.OPENAPI_PYTHON_CLIENT ??
  join(homedir(), '.cache/mlx-manager/python-client/venv/bin/openapi-python-client');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PLAIN_MEDIA = /^(application\/json|application\/x-www-form-urlencoded)\b/;

const doc = JSON.parse(await readFile(documentPath, 'utf8'));
const operations = [];
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  for (const method of METHODS) {
    const op = item[method];
    if (!op) continue;
    const media = [
      ...Object.keys(op.requestBody?.content ?? {}),
      ...Object.values(op.responses ?? {}).flatMap((r) => Object.keys(r.content ?? {})),
    ];
    operations.push({
      id: op.operationId,
      path,
      method,
      statuses: Object.keys(op.responses ?? {}).filter((s) => /^\d{3}$/.test(s)),
      special: [...new Set(media.filter((m) => !PLAIN_MEDIA.test(m)))],
    });
  }
}
const schemas = Object.keys(doc.components?.schemas ?? {});

const report = []; // [generator, warnings, problems[]]
const temp = await mkdtemp(join(tmpdir(), 'mlx-generators-'));

function run(cmd, args, options = {}) {
  const out = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (out.error) throw out.error;
  return out;
}

function lines(text) {
  return text.split('\n').filter((l) => l.trim() !== '');
}

const ident = (s) => /^[A-Za-z_$][\w$]*$/.test(s);

try {
  const problems = { hey: [], ots: [], python: [], readme: [] };
  for (const op of operations) {
    if (!op.id || !ident(op.id)) problems.hey.push(`${op.method.toUpperCase()} ${op.path}: operationId ${op.id} is not an identifier`);
  }

  // @hey-api/openapi-ts, with the committed client's configuration.
  const heyDir = join(temp, 'hey');
  const heyScript = `
    import { createClient } from '@hey-api/openapi-ts';
    import config from './openapi-ts.config.mjs';
    await createClient({ ...config, input: ${JSON.stringify(documentPath)}, output: { ...config.output, path: ${JSON.stringify(heyDir)} } });
  `;
  const hey = run(process.execPath, ['--input-type=module', '-e', heyScript], { cwd: packageDir });
  const heyWarnings = lines(hey.stderr);
  if (hey.status !== 0) problems.hey.push(`exit ${hey.status}`);

  // openapi-typescript.
  const otsDir = join(temp, 'ots');
  await mkdir(otsDir);
  const ots = run(process.execPath, [join(packageDir, 'node_modules/openapi-typescript/bin/cli.js'), documentPath, '-o', join(otsDir, 'schema.d.ts')], {
    cwd: packageDir,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  const otsWarnings = lines(ots.stderr);
  if (ots.status !== 0) problems.ots.push(`exit ${ots.status}`);

  // One strict compile names every operation and schema in both TypeScript outputs.
  const probe = [
    "import * as sdk from './hey/sdk.gen.js';",
    "import type * as types from './hey/types.gen.js';",
    "import type { components, operations, paths } from './ots/schema.js';",
    'type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;',
    'export const heyOperations = [',
    ...operations.filter((o) => ident(o.id ?? '')).map((o) => `  sdk.${o.id},`),
    '];',
    'export type HeySchemas = [',
    ...schemas.filter(ident).map((s) => `  types.${s},`),
    '];',
    ...operations
      .filter((o) => o.id)
      .map(
        (o, i) =>
          `export const ots${i}: Same<paths[${JSON.stringify(o.path)}][${JSON.stringify(o.method)}], operations[${JSON.stringify(o.id)}]> = true; // ${o.id}`,
      ),
    'export type OtsSchemas = [',
    ...schemas.map((s) => `  components['schemas'][${JSON.stringify(s)}],`),
    '];',
    '',
  ].join('\n');
  await writeFile(join(temp, 'probe.ts'), probe);
  await writeFile(
    join(temp, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['probe.ts'],
    }),
  );
  if (hey.status === 0 && ots.status === 0) {
    const tsc = run(process.execPath, [join(packageDir, 'node_modules/typescript/bin/tsc'), '-p', temp], { cwd: temp });
    for (const line of lines(tsc.stdout + tsc.stderr)) {
      (/\bots\d+\b|components\[|[/\\]ots[/\\]/.test(line) ? problems.ots : problems.hey).push(line.replace(`${temp}/`, ''));
    }
  }

  // openapi-python-client.
  let pythonWarnings = [];
  if (!existsSync(pythonGenerator)) {
    problems.python.push(`${pythonGenerator} is missing: run openapi/python/scripts/install.sh (or set OPENAPI_PYTHON_CLIENT)`);
  } else {
    const pyDir = join(temp, 'python');
    const binDir = resolve(pythonGenerator, '..');
    const settings = join(repoDir, 'openapi/python/generator.yaml');
    const py = run(pythonGenerator, ['generate', '--path', documentPath, '--output-path', pyDir, '--meta', 'none', '--config', settings, '--fail-on-warning'], {
      cwd: temp,
      env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}`, RUFF_NO_CACHE: 'true', NO_COLOR: '1' },
    });
    // A clean run prints only "Generating <path>". Each warning starts with one of
    // these headlines; any other output counts line by line.
    const output = lines(py.stdout + py.stderr).filter((l) => !l.startsWith('Generating '));
    const headlines = output.filter((l) => /^(WARNING |Unable to process schema|Error)/.test(l));
    pythonWarnings = headlines.length > 0 ? headlines : output;
    if (py.status !== 0) problems.python.push(`exit ${py.status}`);
    if (existsSync(join(pyDir, 'api'))) {
      const modules = new Map(); // "get /api/x" -> source
      for (const tag of await readdir(join(pyDir, 'api'), { withFileTypes: true })) {
        if (!tag.isDirectory()) continue;
        for (const file of await readdir(join(pyDir, 'api', tag.name))) {
          if (!file.endsWith('.py') || file === '__init__.py') continue;
          const source = await readFile(join(pyDir, 'api', tag.name, file), 'utf8');
          const m = /"method": "(\w+)",\s*"url": "([^"]+)"/.exec(source);
          if (m) modules.set(`${m[1]} ${m[2]}`, source);
        }
      }
      for (const op of operations) {
        const source = modules.get(`${op.method} ${op.path}`);
        if (!source) {
          problems.python.push(`${op.id} (${op.method.toUpperCase()} ${op.path}) was not generated`);
          continue;
        }
        const missing = op.statuses.filter((s) => !source.includes(`response.status_code == ${s}:`));
        if (missing.length > 0) problems.python.push(`${op.id} does not read the ${missing.join(', ')} responses`);
      }
      const init = existsSync(join(pyDir, 'models/__init__.py')) ? await readFile(join(pyDir, 'models/__init__.py'), 'utf8') : '';
      for (const s of schemas) if (!init.includes(`"${s}",`)) problems.python.push(`schema ${s} has no model`);
    } else {
      problems.python.push('no client was generated');
    }
  }

  // Operations a generator cannot express as a plain call are named in the README.
  const readme = await readFile(readmePath, 'utf8');
  for (const op of operations) {
    if (op.special.length > 0 && !readme.includes(`\`${op.id}\``)) {
      problems.readme.push(`${op.id} (${op.special.join(', ')}) is not named in README.md with how to call it`);
    }
  }

  report.push(['@hey-api/openapi-ts', heyWarnings, problems.hey]);
  report.push(['openapi-typescript', otsWarnings, problems.ots]);
  report.push(['openapi-python-client', pythonWarnings, problems.python]);
  report.push(['README.md', [], problems.readme]);

  const versions = {
    '@hey-api/openapi-ts': JSON.parse(await readFile(join(packageDir, 'node_modules/@hey-api/openapi-ts/package.json'), 'utf8')).version,
    'openapi-typescript': JSON.parse(await readFile(join(packageDir, 'node_modules/openapi-typescript/package.json'), 'utf8')).version,
    'openapi-python-client': existsSync(pythonGenerator) ? lines(run(pythonGenerator, ['--version']).stdout).join(' ').replace(/^.*version:\s*/, '') : '?',
  };
  const special = operations.filter((o) => o.special.length > 0).map((o) => o.id);
  console.log(
    `${documentPath}: ${operations.length} operations (${special.length} not plain JSON/form: ${special.join(', ') || 'none'}), ${schemas.length} schemas`,
  );
  let failed = false;
  for (const [name, warnings, found] of report) {
    const version = versions[name] ? ` ${versions[name]}` : '';
    const ok = warnings.length === 0 && found.length === 0;
    failed ||= !ok;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${version}: ${warnings.length} warning line(s), ${found.length} problem(s)`);
    for (const w of warnings) console.log(`       warning: ${w}`);
    for (const p of found) console.log(`       ${p}`);
  }
  if (failed) {
    console.error('\nA generator does not read the document whole. Fix the Rust handler or src/openapi.rs, regenerate the document, and run this again.');
    process.exitCode = 1;
  }
} finally {
  await rm(temp, { recursive: true, force: true });
}
