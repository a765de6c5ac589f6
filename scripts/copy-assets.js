// Copies non-TypeScript assets next to the compiled output (the visitor page, the FAQ).
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
for (const rel of ['src/sandbox/public', 'src/bot/faq.json']) {
  fs.cpSync(path.join(root, rel), path.join(root, 'dist', rel), { recursive: true });
}
