#!/usr/bin/env node
// `clickdesk-bot-node [node args]`: node with the memory settings the benchmarks proved
// (docs/operations.md#scale-and-sizing), for `npm start` and `npm run start:built`:
//   MALLOC_ARENA_MAX=2           glibc reads it once, at process start: so it is set here and node
//                                started again with it (two arenas instead of eight per core)
//   --max-semi-space-size=2      a 2 MB young generation per semi-space instead of V8's 16 MB
//   --max-old-space-size=256     V8 lets the old generation grow to a multiple of what the last
//                                full collection kept before the next one, a multiple that rises
//                                with the heap limit (up to 4x with a limit sized for a 24 GB
//                                machine): garbage promoted in a burst then sits in RSS. A 256 MB
//                                limit keeps the multiple at its least; the live heap is ~50 MB.
// A value the operator set (MALLOC_ARENA_MAX in the environment, a flag in NODE_OPTIONS or in the
// arguments) wins. The image sets the same in its ENV and starts node directly.
'use strict';
const { spawn } = require('node:child_process');

const ARENAS = '2';
const V8_FLAGS = { 'max-semi-space-size': '2', 'max-old-space-size': '256' };

/** The child's argv and environment: the settings added where the operator set none. */
function withMemorySettings(args, env) {
  const childEnv = { ...env };
  if (!childEnv.MALLOC_ARENA_MAX) childEnv.MALLOC_ARENA_MAX = ARENAS;
  // V8 takes its flags with dashes or underscores: --max_old_space_size is the same flag.
  const given = [...args, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) =>
    a.split('=')[0].replace(/_/g, '-'),
  );
  const added = Object.entries(V8_FLAGS)
    .filter(([flag]) => !given.includes(`--${flag}`))
    .map(([flag, value]) => `--${flag}=${value}`);
  return { argv: [...added, ...args], env: childEnv };
}

module.exports = { withMemorySettings };

if (require.main === module) {
  const { argv, env } = withMemorySettings(process.argv.slice(2), process.env);
  const child = spawn(process.execPath, argv, { stdio: 'inherit', env });
  // The child is the app: signals meant for it reach it, and this process ends as it did. Ctrl-C
  // in a terminal already reaches the child (the terminal signals its whole process group), and
  // the app exits at once on a second SIGINT: so SIGINT is passed on only without a terminal.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'])
    process.on(signal, () => {
      if (signal !== 'SIGINT' || !process.stdin.isTTY) child.kill(signal);
    });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
