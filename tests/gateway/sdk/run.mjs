// run.mjs -- real SDKs through the real gateway to a realistic upstream.
//
//   node run.mjs SDK MODE      SDK: openai | vercel | langchain
//
// MODE
//   token                every flow of the SDK (sdk/<SDK>.mjs) in every
//                        dialect of the simulator, five turns and a tool
//                        loop each, with tokens carried by the clients/js
//                        helper (one line: `fetch: chatsealFetch()`): zero
//                        refusals, and the upstream received exactly the
//                        requests of the conversation, with the whole
//                        history and nothing chatseal-specific; plus a
//                        token over 8 KiB (sent in the body only, no
//                        header) carried by the helper to the next turn
//   conversation         the same with no token code at all: one static
//                        `Chatseal-Conversation: <random id>` default header
//   tamper-token         per dialect, a two-turn history built through the
//   tamper-conversation  SDK, then edited / inserted / deleted / reordered /
//                        truncated / restarted (and, conversation id only,
//                        rolled back with an older token) histories sent
//                        through the SDK: each is refused with the code of
//                        script.mjs forgeries() and never reaches the
//                        upstream; then the honest next turn still passes
//
// One "ok"/"FAIL" line per case (name: SDK flow dialect mode), then a
// summary of the failures with the status and code seen.  Exit status 0 if
// all passed, 1 otherwise, 77 if the SDKs are not installed (meson: skip).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
    load, startSim, startGateway, step, finish, errInfo, DIALECTS, newConversationId,
    diagnosticFetch,
} from './harness.mjs';
import { SYSTEM, TURNS, checkUpstream, forgeries, statusOf } from './script.mjs';

const [sdkName, mode] = process.argv.slice(2);
const MODES = ['token', 'conversation', 'tamper-token', 'tamper-conversation'];
if (!['openai', 'vercel', 'langchain'].includes(sdkName) || !MODES.includes(mode)) {
    console.error('usage: run.mjs openai|vercel|langchain ' + MODES.join('|'));
    process.exit(2);
}
const sdk = await (await import(`./${sdkName}.mjs`)).make(load);
const { chatsealFetch } = await load('chatseal');
const conversationOnly = mode.endsWith('conversation');

const sim = await startSim();
// the apps here send their system prompt with every request, as SDK apps
// do: the operator pins the same prompt (--system-prompt), which is the
// default policy's way to accept it (fresh roles stay `user` only)
const promptDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatseal-sdk-'));
const promptFile = path.join(promptDir, 'system.txt');
fs.writeFileSync(promptFile, SYSTEM);
process.on('exit', () => fs.rmSync(promptDir, { recursive: true, force: true }));
const gw = await startGateway(['--upstream', sim.url, '--system-prompt', promptFile]);

// A fresh conversation: the helper's fetch (its own token store), or one
// random conversation id set once as a default header.
// (SDK_TEST_VERBOSE=1: with a wrapper that prints sent vs signed on a 403.)
function newContext(dialect) {
    const base = process.env.SDK_TEST_VERBOSE ? diagnosticFetch() : undefined;
    return {
        baseURL: gw.url + 'v1',
        model: `sim-${dialect}`,
        dialect,
        fetch: conversationOnly ? base : chatsealFetch({ fetch: base }),
        headers: conversationOnly ? { 'Chatseal-Conversation': newConversationId() } : {},
    };
}

// 5 turns + one tool round trip = 6 model calls; the last request carries
// system + 5 user + 4 assistant answers + tool call + tool result = 12
const CALLS = TURNS.length + 1;
const LAST_COUNT = 1 + TURNS.length + (TURNS.length - 1) + 2;

if (!mode.startsWith('tamper')) {
    for (const dialect of DIALECTS) {
        for (const [flow, run] of Object.entries(sdk.flows)) {
            await step(`${sdkName} ${flow} ${dialect} ${mode}`, async () => {
                await sim.reset();
                await run(newContext(dialect));
                await checkUpstream(sim, CALLS, LAST_COUNT);
            });
        }
    }
    if (mode === 'token') {
        // 600 messages make a token of ~9.5 KB: the gateway sends it in the
        // body only (no header over 8 KiB); the helper must still carry it
        await step(`${sdkName} token-over-8KiB openai token`, async () => {
            const ctx = newContext('openai');
            const msgs = [sdk.system(SYSTEM)];
            for (let i = 0; i < 600; i++) msgs.push(sdk.user(`note ${i}`));
            msgs.push(...await sdk.send(ctx, msgs));
            const rec = await ctx.fetch.current();
            assert.ok(rec.token.length > 8192, `token of ${rec.token.length} bytes`);
            msgs.push(sdk.user('and now?'));
            await sdk.send(ctx, msgs);
            assert.equal((await ctx.fetch.current()).count, 604);
        });
    }
} else {
    for (const dialect of DIALECTS) {
        const ctx = newContext(dialect);
        // conversation mode: the app sends no token; a passive recorder
        // (the helper with sendToken: false) keeps the issued ones so the
        // rollback case can present an older token
        const issued = [];
        if (conversationOnly) {
            ctx.fetch = chatsealFetch({ fetch: ctx.fetch, sendToken: false,
                onToken: (r) => { issued.push(r.token); } });
        }
        let h = null;
        await step(`${sdkName} tamper-setup ${dialect} ${mode}`, async () => {
            const msgs = [sdk.system(SYSTEM), sdk.user(TURNS[0])];
            msgs.push(...await sdk.send(ctx, msgs));
            msgs.push(sdk.user(TURNS[1]));
            msgs.push(...await sdk.send(ctx, msgs));
            assert.equal(msgs.length, 5, 'one assistant message per turn');
            h = msgs;
        });
        const next = sdk.user(TURNS[3]);
        for (const [name, forged, codes, headers] of forgeries(h ?? [], next, sdk, conversationOnly, issued[0])) {
            await step(`${sdkName} tamper ${name} ${dialect} ${mode}`, async () => {
                assert.ok(h, 'no signed history (tamper-setup failed)');
                const before = (await sim.requests()).length;
                const c = headers ? { ...ctx, headers: { ...ctx.headers, ...headers } } : ctx;
                await assert.rejects(sdk.send(c, forged), (e) => {
                    const { status, code } = errInfo(e);
                    assert.ok(codes.includes(code), `code ${code} (status ${status}), expected ${codes.join(' or ')}`);
                    assert.equal(status, statusOf(code), `status of ${code}`);
                    return true;
                });
                const after = await sim.requests();
                assert.equal(after.length, before, 'the forged request reached the upstream');
            });
        }
        await step(`${sdkName} tamper after-refusals ${dialect} ${mode}`, async () => {
            assert.ok(h, 'no signed history (tamper-setup failed)');
            const before = (await sim.requests()).length;
            await sdk.send(ctx, [...h, next]);
            const bodies = (await sim.bodies()).slice(before);
            assert.equal(bodies.length, 1);
            assert.equal(bodies[0].messages.length, 6, 'the upstream got the honest history');
        });
    }
}

const rc = await gw.stop();
if (rc !== 0) {
    console.log(`FAIL gateway exit status ${rc}\n${gw.log().slice(-3000)}`);
}
await sim.stop();
const status = finish();
process.exit(rc !== 0 ? 1 : status);
