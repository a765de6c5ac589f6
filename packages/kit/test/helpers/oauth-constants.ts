/** The test app's registration with the simulator. */
export const OAUTH = { clientId: 'test-client', clientSecret: 'test-client-secret-0123' };
