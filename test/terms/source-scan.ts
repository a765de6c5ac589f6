import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every .ts and .js file under `dir`. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : /\.(ts|js)$/.test(name) ? [full] : [];
  });
}

/** Source without comments and type-only imports, which open nothing and read nothing. */
export const codeOnly = (source: string): string =>
  source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/^import type .*$/gm, '');

/**
 * Ways code opens a connection of its own (Terms 4.8.2, 4.8.3): the global fetch (called or
 * taken), node's http(s), net, tls and dgram, a WebSocket, undici. `ctx.fetch(…)`, a member
 * call, is the way a bot is meant to reach its services, and is not matched.
 */
const NETWORK =
  /(?<![.\w$])fetch\s*\(|\b(?:globalThis|global|window|self)\s*\.\s*fetch\b|\bhttps?\.(?:request|get)\s*\(|\bnet\.connect|\btls\.connect|\bdgram\.|\bnew WebSocket\s*\(|from '(?:node:)?(?:net|tls|dgram|https?|undici)'|require\('(?:node:)?(?:net|tls|https?|dgram|undici)'\)/;

export const opensConnections = (file: string): boolean => NETWORK.test(codeOnly(readFileSync(file, 'utf8')));

/** Reads the environment itself instead of declaring a setting. */
const ENV = /\bprocess\s*\.\s*env\b|\{[^}]*\benv\b[^}]*\}\s*=\s*process\b/;

export const readsEnvironment = (file: string): boolean => ENV.test(codeOnly(readFileSync(file, 'utf8')));
