import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { opensConnections, readsEnvironment } from './source-scan';

const dir = mkdtempSync(path.join(os.tmpdir(), 'source-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (code: string): string => {
  const f = path.join(dir, `${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(f, code);
  return f;
};

/** The scans the template runs over a fork's src/: what they catch, and what they let through. */
describe('the source scans', () => {
  it.each([
    ['a bare fetch call', 'await fetch(url);', true],
    ['the global fetch taken under another name', 'const get = globalThis.fetch;\nawait get(url);', true],
    ["node's https", "import https from 'node:https';", true],
    ['undici', "import { request } from 'undici';", true],
    ['a WebSocket', 'const ws = new WebSocket(url);', true],
    ["the handler's ctx.fetch", 'await ctx.fetch(url);', false],
    ['a fetch in a comment', '// fetch(url) would be wrong here\n/* or fetch(url) */', false],
  ])('%s: opens a connection itself = %s', (_what, code, expected) => {
    expect(opensConnections(file(code))).toBe(expected);
  });

  it.each([
    ['process.env', 'const url = process.env.ORDERS_URL;', true],
    ['env destructured from process', 'const { env } = process;', true],
    ['a setting', 'const url = settings.ORDERS_URL;', false],
    ['process.env in a comment', '// never process.env here', false],
  ])('%s: reads the environment = %s', (_what, code, expected) => {
    expect(readsEnvironment(file(code))).toBe(expected);
  });
});
