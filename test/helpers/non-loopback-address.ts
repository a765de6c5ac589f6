import os from 'node:os';

/**
 * An IPv4 address of this machine that is not loopback, so a test can connect "from outside"
 * for real. Without one the caller's tests are skipped locally and fail under CI.
 */
export function nonLoopbackAddress(): { address: string | undefined; describeIf: jest.Describe } {
  const address = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
  if (!address && process.env.CI) throw new Error('CI needs a non-loopback IPv4 interface for these tests');
  if (!address) process.stderr.write('skipping tests that need a non-loopback interface: none found\n');
  return { address, describeIf: address ? describe : describe.skip };
}
