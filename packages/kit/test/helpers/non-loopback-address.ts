import os from 'node:os';

/**
 * An IPv4 address of this machine that is not loopback, for a test to use as the SOURCE of a
 * connection to 127.0.0.1 (`localAddress`): the server sees a caller that is not on loopback,
 * while the traffic still only goes to loopback. Never connect TO this address: tests send
 * nothing to an address outside 127.0.0.0/8 and ::1. Without one the caller's tests are skipped
 * locally and fail under CI.
 */
export function nonLoopbackAddress(): { address: string | undefined; describeIf: jest.Describe } {
  const address = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
  if (!address && process.env.CI) throw new Error('CI needs a non-loopback IPv4 interface for these tests');
  if (!address) process.stderr.write('skipping tests that need a non-loopback interface: none found\n');
  return { address, describeIf: address ? describe : describe.skip };
}
