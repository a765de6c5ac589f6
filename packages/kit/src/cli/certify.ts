/**
 * `npm run certify -- <command>`: proof of deletion (Terms 12.4: ClickDesk may ask to certify it).
 *   certificate [--out FILE]   a signed certificate of deletion listing every erasure receipt
 *   erasures [--json]          each erasure's layers: unreadable, purged, irrecoverable from copies
 *   verify FILE [--public-key KEY]   check a receipt or certificate (and every receipt inside it)
 *   public-key                 print the public key that receipts are signed with
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config';
import { describeError } from '../errors';
import { verifyAudit } from '../lifecycle/audit-log';
import { layersOf, receiptDocumentOf, type ErasureLayers } from '../lifecycle/erasure-layers';
import { listGenerations } from '../storage/crypto/master-key-generations';
import { ReceiptSigner, verifySigned, type SignedDocument } from '../lifecycle/receipt-signer';
import { loadSodium } from '../storage/crypto/sodium';
import { withSqlStorage } from './with-sql-storage';

const HELP = `Usage: npm run certify -- <command> [options]

Commands:
  certificate [--out FILE]          Write a certificate of deletion: every erasure receipt this
                                    deployment issued, the audit log's head hash, signed (Ed25519).
  erasures [--json]                 Each erasure and its layers, with the time each was reached:
                                    (a) unreadable in the live database, (b) purged from the
                                    database engine, (c) irrecoverable from copies (backups,
                                    archives, replicas) — or the master keys it still waits on.
  verify FILE [--public-key KEY]    Check a receipt or a certificate (each receipt inside too).
                                    Exit 0 if valid, 1 if not. With --public-key, also that it was
                                    signed by that key.
  public-key                        Print the public key receipts are signed with (give it to
                                    whoever checks them).

Reads the same environment as the app (STORAGE, DATA_DIR, DATABASE_URL, MASTER_KEY…,
RECEIPT_SIGNING_KEY_FILE).
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'public-key': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, file] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  const sodium = await loadSodium();

  if (command === 'verify') {
    if (!file) {
      process.stderr.write('verify needs a FILE\n');
      return 2;
    }
    let signed: SignedDocument;
    try {
      signed = JSON.parse(readFileSync(file, 'utf8')) as SignedDocument;
    } catch (err) {
      process.stderr.write(`INVALID: ${file} is not a signed JSON document (${(err as Error).message})\n`);
      return 1;
    }
    const outer = verifySigned(sodium, signed, values['public-key']);
    if (!outer.valid) {
      process.stdout.write(`INVALID: ${outer.reason ?? 'bad signature'}\n`);
      return 1;
    }
    const doc = JSON.parse(signed.document) as { kind: string; receipts?: SignedDocument[] };
    for (const [i, inner] of (doc.receipts ?? []).entries()) {
      const r = verifySigned(sodium, inner, signed.public_key);
      if (!r.valid) {
        process.stdout.write(
          `INVALID: receipt ${i + 1} inside the certificate: ${r.reason ?? 'bad signature'}\n`,
        );
        return 1;
      }
    }
    process.stdout.write(
      `VALID: ${doc.kind}${doc.receipts ? ` with ${doc.receipts.length} receipts` : ''}, signed by ${signed.public_key}\n`,
    );
    return 0;
  }

  const config = loadConfig();
  const signer = ReceiptSigner.fromFile(sodium, config.lifecycle.receiptSigningKeyFile);
  if (command === 'public-key') {
    process.stdout.write(`${Buffer.from(signer.publicKey).toString('base64')}\n`);
    return 0;
  }
  if (command === 'erasures') {
    return withSqlStorage(config, async ({ db }) => {
      const layers = await erasureLayers(db);
      if (values.json) process.stdout.write(`${JSON.stringify(layers, null, 2)}\n`);
      else process.stdout.write(formatLayers(layers));
      return 0;
    });
  }
  if (command !== 'certificate') {
    process.stderr.write(`unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  return withSqlStorage(config, async ({ db }) => {
    const rows = await db.all<{ document: string }>(
      'SELECT document FROM receipts ORDER BY issued_at, job_id',
    );
    const receipts = rows.map((r) => JSON.parse(r.document) as SignedDocument);
    const audit = await verifyAudit(db);
    const retirements = (
      await db.all<{ retirement: string }>(
        'SELECT retirement FROM master_keys WHERE retirement IS NOT NULL ORDER BY retired_at',
      )
    ).map((r) => JSON.parse(r.retirement) as SignedDocument);
    const terminated = receipts.some(
      (r) => (JSON.parse(r.document) as { event?: string }).event === 'api_access.terminated',
    );
    const certificate = signer.sign({
      kind: 'clickdesk-bot-certificate-of-deletion',
      version: 1,
      issued_at: new Date().toISOString(),
      statement: terminated
        ? 'All Data obtained through the ClickDesk API was permanently deleted (crypto-shredding of every data key, then deletion of every row); only the receipts and audit log below remain.'
        : 'The Data named in each receipt below was permanently deleted (crypto-shredding of its data keys, then deletion of its rows).',
      api_access_terminated: terminated,
      audit_log: { entries: audit.entries, head_sha256: audit.head, intact: audit.valid },
      erasure_layers: await erasureLayers(db),
      master_key_retirements: retirements,
      receipts,
      receipts_sha256: createHash('sha256')
        .update(rows.map((r) => r.document).join('\n'))
        .digest('hex'),
    });
    const text = `${JSON.stringify(certificate, null, 2)}\n`;
    if (values.out) {
      writeFileSync(values.out, text, { mode: 0o644 });
      process.stderr.write(`wrote a certificate covering ${receipts.length} receipts to ${values.out}\n`);
    } else process.stdout.write(text);
    return audit.valid ? 0 : 1;
  });
}

async function erasureLayers(db: Parameters<typeof verifyAudit>[0]): Promise<ErasureLayers[]> {
  const generations = await listGenerations(db);
  const rows = await db.all<{ document: string }>('SELECT document FROM receipts ORDER BY issued_at, job_id');
  return rows.map((r) => layersOf(receiptDocumentOf(r.document), generations));
}

function formatLayers(layers: ErasureLayers[]): string {
  if (layers.length === 0) return 'no erasures recorded\n';
  return layers
    .map((l) =>
      [
        `${l.jobId} (${l.event})`,
        `  (a) unreadable in the live database:   ${l.unreadableAt ?? 'not stated (receipt before layers)'}`,
        `  (b) purged from the database engine:   ${l.purgedAt ?? 'not stated (receipt before layers)'}`,
        `  (c) irrecoverable from copies:         ${l.irrecoverableAt ?? (l.waitingOn.length === 0 ? 'not stated (receipt before layers)' : `not yet: retire master key${l.waitingOn.length > 1 ? 's' : ''} ${l.waitingOn.join(', ')} (npm run keys -- retire <id>)`)}`,
      ].join('\n'),
    )
    .join('\n')
    .concat('\n');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`certify: ${describeError(err).message}\n`);
    process.exit(1);
  },
);
