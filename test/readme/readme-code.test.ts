import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { opensConnections, readsEnvironment, sourceFiles } from '../terms/source-scan';

const root = path.join(__dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
/** The README's TypeScript blocks that begin with a `// path` comment: files of a fork. */
const files = [...readme.matchAll(/```ts\n\/\/ (\S+)\n([\s\S]*?)```/g)].map((m) => ({
  file: m[1] ?? '',
  code: `// ${m[1]}\n${m[2]}`,
}));
// Inside the repository, so the package names resolve as they do for src/ and test/.
const fork = path.join(__dirname, `generated-${process.pid}`);

/** "Write your bot" and "Test your bot" as a fork would copy them: they must compile and pass. */
describe("the README's code", () => {
  beforeAll(() => {
    for (const { file, code } of files) {
      mkdirSync(path.dirname(path.join(fork, file)), { recursive: true });
      writeFileSync(path.join(fork, file), code);
    }
  });
  afterAll(() => rmSync(fork, { recursive: true, force: true }));

  it('shows a bot and its test, as files of a fork', () => {
    expect(files.map((f) => f.file).sort()).toEqual(['src/bot/index.ts', 'test/bot.test.ts']);
  });

  it("keeps the template's checks: no connection but ctx.fetch, no process.env", () => {
    const bot = sourceFiles(path.join(fork, 'src'));
    expect(bot).toHaveLength(1);
    expect(bot.filter((f) => opensConnections(f) || readsEnvironment(f))).toEqual([]);
  });

  it('type-checks under the project settings', () => {
    writeFileSync(
      path.join(fork, 'tsconfig.json'),
      JSON.stringify({ extends: '../../../tsconfig.json', include: ['src', 'test'] }),
    );
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', fork], {
      encoding: 'utf8',
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('passes its own test: the bot answers as the README says, counted at the simulator', () => {
    const jest = spawnSync(
      process.execPath,
      [
        require.resolve('jest/bin/jest'),
        '--ci',
        '--roots',
        fork,
        '--testPathIgnorePatterns',
        '/node_modules/',
        '--json',
      ],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    const result = JSON.parse(jest.stdout) as { numPassedTests: number; numFailedTests: number };
    expect({ ...result, log: result.numFailedTests > 0 ? jest.stderr : '' }).toMatchObject({
      numPassedTests: 1,
      numFailedTests: 0,
    });
  }, 150_000);
});
