import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { passwordCheck } from '../auth/sign-in.js';
import { createContext } from '../context.js';
import { createInflightTracker } from '../inflight.js';
import { createCaller, createTestOrg, testDb, testPassword, uniqueClientAddress } from '../test/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('in-flight tracker', () => {
  it('is idle when nothing runs, and waits for work that ends either way, also work tracked meanwhile', async () => {
    const tracker = createInflightTracker();
    await tracker.idle();
    const order: string[] = [];
    const failing = tracker.track(sleep(30).then(() => Promise.reject(new Error('it failed'))));
    const later = sleep(10).then(() => tracker.track(sleep(60).then(() => order.push('late work'))));
    const idle = tracker.idle().then(() => order.push('idle'));
    // The work's own outcome reaches its caller unchanged.
    await expect(failing).rejects.toThrow('it failed');
    await later;
    await idle;
    expect(order).toEqual(['late work', 'idle']);
  });

  it('counts a procedure of a context that holds it as running until the procedure ends', async () => {
    const db = await testDb();
    const org = await createTestOrg(db);
    const inflight = createInflightTracker();
    const order: string[] = [];
    // Setting the session cookie is among the procedure's last steps.
    const cookies = { set: () => order.push('session cookie set'), clear() {} };
    const caller = createCaller(createContext({ db, inflight, cookies, clientAddress: uniqueClientAddress() }));
    // The password check holds until the test lets it go.
    const verify = passwordCheck.verify;
    let entered = () => {};
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let letGo = () => {};
    const gate = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    vi.spyOn(passwordCheck, 'verify').mockImplementationOnce(async (hash, password) => {
      entered();
      await gate;
      return verify(hash, password);
    });
    const signingIn = caller.auth.login({ email: org.adminEmail, password: testPassword });
    await inside;
    const idle = inflight.idle().then(() => order.push('idle'));
    await sleep(50);
    expect(order).toEqual([]);
    letGo();
    await Promise.all([signingIn, idle]);
    expect(order).toEqual(['session cookie set', 'idle']);
  });
});
