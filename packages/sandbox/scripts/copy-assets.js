// Copies the visitor page (HTML, CSS, JS) next to the compiled simulator.
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
fs.cpSync(path.join(root, 'src/public'), path.join(root, 'dist/src/public'), { recursive: true });
