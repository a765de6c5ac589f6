/** A usable data key: its public id and the unwrapped key bytes. Use it at once, never across an await. */
export interface DataKey {
  readonly id: string;
  readonly key: Uint8Array;
}
