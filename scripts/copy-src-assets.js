// `npm run build`: copies what is not TypeScript under src/ (a bot's JSON, texts, templates) next
// to the compiled files in dist/src/, so a bot reads them from __dirname as it does from source.
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
fs.cpSync(path.join(root, 'src'), path.join(root, 'dist', 'src'), {
  recursive: true,
  filter: (from) => fs.statSync(from).isDirectory() || !from.endsWith('.ts'),
});
