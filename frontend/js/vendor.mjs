// Copies xterm.js's ES modules, its CSS and licence from node_modules into
// vendor/, which is committed: building the dashboard then needs no npm.
// Run after changing the versions in package.json: `npm ci && npm run vendor`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const files = [
  ['node_modules/@xterm/xterm/lib/xterm.mjs', 'vendor/xterm.mjs'],
  ['node_modules/@xterm/addon-fit/lib/addon-fit.mjs', 'vendor/addon-fit.mjs'],
  ['node_modules/@xterm/xterm/css/xterm.css', 'vendor/xterm.css'],
  ['node_modules/@xterm/xterm/LICENSE', 'vendor/LICENSE'],
  ['node_modules/@xterm/addon-fit/LICENSE', 'vendor/LICENSE.addon-fit'],
];

mkdirSync('vendor', { recursive: true });
for (const [from, to] of files) {
  // The source maps are not vendored: drop the comment that points at them.
  const text = readFileSync(from, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  writeFileSync(to, text);
}
const versions = ['@xterm/xterm', '@xterm/addon-fit']
  .map((name) => `${name} ${JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')).version}`)
  .join('\n');
writeFileSync('vendor/VERSIONS', `${versions}\n`);
console.log(`vendor/: ${versions.replace('\n', ', ')}`);
