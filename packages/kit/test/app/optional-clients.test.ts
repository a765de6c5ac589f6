import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The PostgreSQL and Redis clients are loaded only when DATABASE_URL / REDIS_URL ask for them:
 * an app on the default SQLite storage and in-process rate budget carries neither (together
 * ~9 MB of RSS). The module factories below only observe loading; the real modules are returned.
 */
describe('optional database clients', () => {
  it('an app on SQLite without REDIS_URL loads neither the PostgreSQL nor the Redis client', async () => {
    const loaded: string[] = [];
    jest.doMock('pg', () => {
      loaded.push('pg');
      return jest.requireActual<object>('pg');
    });
    jest.doMock('ioredis', () => {
      loaded.push('ioredis');
      return jest.requireActual<object>('ioredis');
    });
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-optional-'));
    try {
      await jest.isolateModulesAsync(async () => {
        const { createBotApp } = await import('../../src/app');
        const { loadConfig } = await import('../../src/config/load-config');
        const { openStorage } = await import('../../src/storage/open-storage');
        const { generateMasterKeyText } = await import('../../src/storage/crypto/master-keys');
        const { silentLogger } = await import('../../src/logging/create-logger');
        const storage = await openStorage({
          kind: 'sqlite',
          dataDir,
          masterKeys: { key: generateMasterKeyText(), previous: [] },
        });
        try {
          const app = createBotApp({
            config: loadConfig({}),
            clickdesk: { apiUrl: 'http://127.0.0.1:9', appToken: 'xapp-unused', botToken: 'xoxb-unused' },
            logger: silentLogger(),
            handler: { handle: () => Promise.resolve() },
            inbox: storage.inbox,
            conversations: storage.conversations,
            messages: storage.messages,
            profiles: storage.profiles,
          });
          expect(app.gateway.openConnections).toBe(0);
          expect(storage.sql?.db.dialect).toBe('sqlite');
        } finally {
          await storage.close();
        }
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      jest.dontMock('pg');
      jest.dontMock('ioredis');
    }
    expect(loaded).toEqual([]);
  });

  it('a Redis rate store does load the Redis client (the observation above would see it)', async () => {
    const loaded: string[] = [];
    jest.doMock('ioredis', () => {
      loaded.push('ioredis');
      return jest.requireActual<object>('ioredis');
    });
    try {
      await jest.isolateModulesAsync(async () => {
        const { RedisRateStore } = await import('../../src/rate-limit/redis-rate-store');
        const store = new RedisRateStore(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
        await store.close().catch(() => undefined);
      });
    } finally {
      jest.dontMock('ioredis');
    }
    expect(loaded).toEqual(['ioredis']);
  });
});
