// @hey-api/openapi-ts configuration: `npm run generate` writes src/generated/
// from ../openapi.json. scripts/check-generated.mjs reuses this object with a
// temporary output folder to prove the committed code is up to date.
/** @type {import('@hey-api/openapi-ts').UserConfig} */
export default {
  input: '../openapi.json',
  output: {
    path: 'src/generated',
    // Explicit, so the output is the same wherever it is written (the check
    // writes to a temporary folder with no tsconfig.json above it).
    importFileExtension: '.js',
    tsConfigPath: null,
  },
  plugins: ['@hey-api/client-fetch', '@hey-api/typescript', '@hey-api/sdk'],
  logs: { file: false, level: 'warn' },
};
