#!/usr/bin/env node
// `clickdesk-bot <tool> [args]`: the kit's operator tools (npm run keys|certify|… in a fork).
// Runs the compiled tool when the package is built (as installed from a registry), else the
// TypeScript source through tsx (a checkout of the kit itself).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const TOOLS = {
  keys: 'master keys: generate, status, rotate, retire',
  certify: 'proof of deletion: a signed certificate, each erasure and its layers, the audit log',
  'export-subject': "a data subject's Data as JSON (access requests)",
  'dead-letters': 'events and effects given up on: list, retry, drop',
  installations: 'teams that installed the app: list, revoke',
};
const [tool, ...args] = process.argv.slice(2);
if (!tool || !(tool in TOOLS)) {
  const width = Math.max(...Object.keys(TOOLS).map((t) => t.length));
  const lines = Object.entries(TOOLS).map(([t, what]) => `  ${t.padEnd(width)}  ${what}`);
  process.stdout.write(`Usage: clickdesk-bot <tool> [args]   (each tool has --help)\n\n${lines.join('\n')}\n`);
  process.exit(tool && tool !== '--help' && tool !== '-h' ? 2 : 0);
}
const root = path.join(__dirname, '..');
const built = path.join(root, 'dist', 'src', 'cli', `${tool}.js`);
const source = path.join(root, 'src', 'cli', `${tool}.ts`);
const argv = fs.existsSync(built) ? [built, ...args] : ['--import', 'tsx', source, ...args];
const run = spawnSync(process.execPath, argv, { stdio: 'inherit' });
process.exit(run.status ?? 1);
