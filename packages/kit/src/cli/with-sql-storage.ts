import type { AppConfig } from '../config/load-config';
import { openStorage, storageOptionsFrom, type Storage } from '../storage/open-storage';

/**
 * Opens the app's configured SQL storage for a command, runs `work`, and closes it. With
 * STORAGE=memory nothing is on disk to work on: says so and returns exit status 2.
 */
export async function withSqlStorage(
  config: AppConfig,
  work: (sql: NonNullable<Storage['sql']>) => Promise<number>,
): Promise<number> {
  if (config.storage.kind === 'memory') {
    process.stderr.write(
      'STORAGE=memory keeps nothing on disk: run this with the same STORAGE, DATA_DIR or DATABASE_URL as the app\n',
    );
    return 2;
  }
  const storage = await openStorage(storageOptionsFrom(config));
  try {
    return await work(storage.sql!);
  } finally {
    await storage.close();
  }
}
