import type { UsedStates } from '../../installations/install-state';
import type { SqlDatabase } from './sql-database';

/** Used install states in the database, so a state spent on one instance fails on every other. */
export class SqlUsedStates implements UsedStates {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  async consume(nonce: string, expiresAt: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // An expired state is refused before it gets here, so its row can go.
      await tx.run('DELETE FROM oauth_states WHERE expires_at < ?', [this.now()]);
      const added = await tx.run(
        'INSERT INTO oauth_states (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING',
        [nonce, expiresAt],
      );
      return added > 0;
    });
  }
}
