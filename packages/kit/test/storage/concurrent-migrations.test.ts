import { storageFixture } from '../helpers/storage-fixtures';

const describePg = process.env.TEST_PG === '1' ? describe : describe.skip;

describePg('replicas starting together on an empty PostgreSQL database', () => {
  it('all start: one applies each migration, the others wait for it', async () => {
    for (let round = 0; round < 3; round++) {
      const fx = await storageFixture('postgres');
      try {
        const opened = await Promise.allSettled(Array.from({ length: 4 }, () => fx.open()));
        const failures = opened.filter((o) => o.status === 'rejected').map((o) => String(o.reason));
        for (const o of opened) if (o.status === 'fulfilled') await o.value.close();
        expect(failures).toEqual([]);
      } finally {
        await fx.cleanup();
      }
    }
  });
});
