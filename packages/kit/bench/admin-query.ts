import pg from 'pg';

/** Runs one statement on its own connection (a bench's schema or database setup and teardown). */
export async function adminQuery(databaseUrl: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
