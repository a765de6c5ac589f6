import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBotSandbox, type BotSandbox } from '@clickdesk-bot/sandbox/testing';
import bot from '../src/bot';

// The fork's bot against the simulator and the engine, through the published test kit. Run with
// node:test in the fork (`node --import tsx --test`); named .spec.ts so the repository's jest,
// which runs *.test.ts, leaves it alone. (`void`: node:test's runner awaits what test() returns.)
let sandbox: BotSandbox;
before(async () => {
  sandbox = await startBotSandbox(bot, { env: { SHOP_NAME: 'Tarball Teas' } });
});
after(() => sandbox.stop());

void test('greets the visitor by name for the shop its setting names, then answers', async () => {
  const chat = sandbox.openChat({ name: 'Grace Hopper' });
  assert.equal(await chat.nextReply(), 'Hello Grace Hopper, welcome to Tarball Teas!');
  chat.say('Do you sell green tea?');
  assert.equal(await chat.nextReply(), 'You said: Do you sell green tea?');
});

void test('hands the chat to a human on "agent", then stays quiet', async () => {
  const chat = sandbox.openChat({ name: 'Alan' });
  await chat.nextReply();
  chat.say('An agent, please');
  assert.equal(await chat.nextReply(), 'Passing you to one of our team.');
  await chat.handedOver();
  chat.say('Hello?');
  assert.deepEqual(await chat.repliesWithin(300), []);
});
