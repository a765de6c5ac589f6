import sodium from 'libsodium-wrappers';

/** libsodium, initialised once. Every caller awaits this before using it. */
export async function loadSodium(): Promise<typeof sodium> {
  await sodium.ready;
  return sodium;
}

export type Sodium = typeof sodium;
