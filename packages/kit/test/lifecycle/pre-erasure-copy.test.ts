import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { layersOf, receiptDocumentOf } from '../../src/lifecycle/erasure-layers';
import { retireGeneration } from '../../src/lifecycle/key-retirement';
import { listGenerations } from '../../src/storage/crypto/master-key-generations';
import { generateMasterKeyText, parseMasterKey } from '../../src/storage/crypto/master-keys';
import { openStorage, sqliteFile } from '../../src/storage/open-storage';
import { startLifecyclePair, type LifecyclePair } from '../helpers/lifecycle-pair';
import { sleep } from '../helpers/wait-for';

const ADA = { kind: 'visitor' as const, id: 'V-ada' };

describe('a copy of the database made before an erasure', () => {
  let p: LifecyclePair;
  let copyDir: string;
  beforeEach(async () => {
    p = await startLifecyclePair('sqlite');
    copyDir = mkdtempSync(path.join(os.tmpdir(), 'cdbs-copy-'));
  });
  afterEach(async () => {
    await p.stop();
    rmSync(copyDir, { recursive: true, force: true });
  });

  it('is unreadable with the current master key once the old one is rotated away and retired (layer (c))', async () => {
    const { storage, fx } = p;
    await storage.conversations.put({
      teamId: 'T1',
      conversationId: 'C-ada',
      visitorId: ADA.id,
      status: 'bot',
      startedAt: 1,
    });
    await storage.messages.append({
      teamId: 'T1',
      conversationId: 'C-ada',
      eventId: 'Ev-ada',
      subject: ADA,
      sender: ADA,
      text: 'my phone is +44 7700 900123',
      ts: '1',
    });
    // The backup: a plain file copy of the database (and its WAL), taken before the erasure.
    for (const suffix of ['', '-wal']) {
      const from = `${sqliteFile(fx.dataDir)}${suffix}`;
      if (existsSync(from)) copyFileSync(from, `${sqliteFile(copyDir)}${suffix}`);
    }

    expect(
      await p.sim.webhooks.send('data_deletion.requested', { team_id: 'T1', subject: ADA }),
    ).toMatchObject({
      status: 202,
    });
    const receipts = async () => storage.sql!.db.all<{ document: string }>('SELECT document FROM receipts');
    while ((await receipts()).length === 0) await sleep(20);
    const old = parseMasterKey(fx.masterKey, 'old key');
    const doc = receiptDocumentOf((await receipts())[0]!.document);
    expect(layersOf(doc, await listGenerations(storage.sql!.db))).toMatchObject({
      irrecoverableAt: null,
      waitingOn: [old.id],
    });

    // Rotate onto a new master key, then retire the old one.
    const newKey = generateMasterKeyText();
    const rotated = await fx.open({ masterKeys: { key: newKey, previous: [fx.masterKey] } });
    try {
      const retiredEarly = await retireGeneration(
        rotated.sql!.db,
        p.signer,
        old.id,
        rotated.sql!.keys.currentMasterKeyId,
        Date.now(),
      );
      expect(retiredEarly).toMatchObject({
        status: 'refused',
        reason: expect.stringMatching(/still wrapped.*rotate/),
      });
      await rotated.sql!.keys.rewrap();
      const retired = await retireGeneration(
        rotated.sql!.db,
        p.signer,
        old.id,
        rotated.sql!.keys.currentMasterKeyId,
        Date.now(),
      );
      expect(retired).toMatchObject({ status: 'retired', erasuresNowIrrecoverable: [doc.job_id] });
      expect(layersOf(doc, await listGenerations(rotated.sql!.db))).toMatchObject({
        irrecoverableAt: expect.any(String),
        waitingOn: [],
      });
    } finally {
      await rotated.close();
    }

    // The restored copy, with the current master key: nothing in it unwraps.
    const restore = (key: string) =>
      openStorage({ kind: 'sqlite', dataDir: copyDir, masterKeys: { key, previous: [] } });
    await expect(restore(newKey)).rejects.toMatchObject({ code: 'MASTER_KEY_UNKNOWN' });
    // Control: the copy did hold Ada's message — the retired key (which the operator destroys) reads it.
    const withOldKey = await restore(fx.masterKey);
    try {
      expect((await withOldKey.messages.listConversation('T1', 'C-ada')).map((m) => m.text)).toEqual([
        'my phone is +44 7700 900123',
      ]);
    } finally {
      await withOldKey.close();
    }
    // And the live database refuses the retired key from now on.
    await expect(fx.open()).rejects.toMatchObject({ code: 'MASTER_KEY_INVALID' });
    await expect(fx.open({ masterKeys: { key: newKey, previous: [fx.masterKey] } })).rejects.toThrow(
      /MASTER_KEY_PREVIOUS was retired/,
    );
  });
});
