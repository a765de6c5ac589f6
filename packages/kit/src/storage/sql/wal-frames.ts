import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

/**
 * Reads how many frames SQLite's WAL holds, and their page size, from the wal-index header at
 * the start of the `-shm` file (sqlite.org/walformat.html: two copies of a 48-byte header in
 * native byte order, `szPage` at byte 14, `mxFrame` at byte 16). Read without SQLite's locks, so
 * a header being rewritten shows as two copies that differ: undefined then, as when there is no
 * `-shm` file. An estimate for pacing checkpoints, never for correctness.
 */
export class WalFrames {
  private fd: number | undefined;
  private readonly header = Buffer.alloc(96);

  constructor(private readonly file: string) {}

  read(): { frames: number; pageSize: number } | undefined {
    try {
      this.fd ??= openSync(`${this.file}-shm`, 'r');
      if (readSync(this.fd, this.header, 0, 96, 0) < 96) return undefined;
    } catch {
      this.close();
      return undefined;
    }
    if (!this.header.subarray(0, 48).equals(this.header.subarray(48, 96))) return undefined;
    const le = endianness() === 'LE';
    const size = le ? this.header.readUInt16LE(14) : this.header.readUInt16BE(14);
    return {
      frames: le ? this.header.readUInt32LE(16) : this.header.readUInt32BE(16),
      // 65536 is stored as 1 (it does not fit in 16 bits).
      pageSize: size === 1 ? 65_536 : size,
    };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
