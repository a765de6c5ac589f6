import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './podman';

const read = (file: string): string => readFileSync(path.join(REPO_ROOT, 'deploy/kubernetes', file), 'utf8');

/** The keys deploy/kubernetes/secret.yaml declares: every secret the Deployment reads. */
export function secretKeys(): string[] {
  const body = read('secret.yaml').split('stringData:\n')[1] ?? '';
  return [...body.matchAll(/^ {2}([\w.-]+):/gm)].map((m) => m[1]!);
}

/**
 * The ConfigMap and Deployment as shipped, with what an overlay sets for this machine: the image
 * built here, one replica on the host's network (PostgreSQL, Redis and the simulator listen on
 * its loopback) and ports of its own. Probes, grace period, security context and volumes stay.
 */
export function playableManifests(o: {
  image: string;
  apiUrl: string;
  redisUrl: string;
  /** The receipt signing key, mode 0400 and owned by the image's user. */
  keyFile: string;
  ports: { http: number; health: number; metrics: number };
}): string {
  const configMap = read('configmap.yaml')
    .replace(/CLICKDESK_API_URL: .*/, `CLICKDESK_API_URL: ${o.apiUrl}`)
    .replace(/REDIS_URL: .*/, `REDIS_URL: ${o.redisUrl}`)
    .replace(/METRICS_PORT: .*/, `METRICS_PORT: "${o.ports.metrics}"`)
    .replace(/OPERATOR_NAME: .*/, 'OPERATOR_NAME: Deploy Test')
    .replace(/OPERATOR_CONTACT: .*/, 'OPERATOR_CONTACT: ops@example.com')
    .concat(`  HTTP_PORT: "${o.ports.http}"\n  HEALTH_PORT: "${o.ports.health}"\n`);
  const deployment = read('deployment.yaml')
    .replace('replicas: 2', 'replicas: 1')
    .replace(/image: clickdesk-bot\n/, `image: ${o.image}\n`)
    // On the host's network podman publishes no ports: the probes name the port by number.
    .replace(/\n {10}ports:\n(?: {12}- \{ name: \w+, containerPort: \d+ \}\n)+/, '\n')
    .replace(/port: health \}/g, `port: ${o.ports.health} }`)
    .replace(/\n {4}spec:\n/, '\n    spec:\n      hostNetwork: true\n')
    // podman 4.3 mounts a Secret volume 0644 whatever its defaultMode, and the app rightly refuses a
    // key file anyone can read: the same key comes from the host with the mode Kubernetes gives it.
    .replace(
      /\n {10}secret:\n {12}secretName: clickdesk-bot\n(?: {12}.*\n)+/,
      `\n          hostPath: { path: ${path.dirname(o.keyFile)}, type: Directory }\n`,
    );
  if (
    !deployment.includes('hostNetwork: true') ||
    !deployment.includes(o.image) ||
    /containerPort|port: health/.test(deployment)
  )
    throw new Error('deploy/kubernetes/deployment.yaml no longer has the shape this test patches');
  return `${configMap}---\n${deployment}`;
}
