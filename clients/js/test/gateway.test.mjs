// gateway.test.mjs -- the one line each SDK needs (clients/js/README.md),
// through the real gateway: `chatseal serve --upstream mock --dev` on
// 127.0.0.1:0, whose mock model speaks every API.  Per SDK, four turns
// mixing streamed and non-streamed replies, the history carried forward the
// way that SDK's docs say; the helper alone carries the token (the app never
// touches it): each turn must be accepted and the token must cover the
// whole history.  Then a history edited in the app is refused with
// content_changed -- so the token really was checked -- and the helper keeps
// the last good token.  Needs the built binary (CHATSEAL_BUILD, set by
// meson; else ../../../build) and the SDKs in tests/node/node_modules; run
// by hand without them it skips, under meson it fails.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chatsealFetch } from '../index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NM = process.env.CHATSEAL_NODE_MODULES || path.join(HERE, '../../../tests/node/node_modules');
const BIN = path.join(process.env.CHATSEAL_BUILD || path.join(HERE, '../../../build'), 'src/cli/chatseal');
const requireNm = createRequire(path.join(NM, 'index.js'));
const load = (pkg) => import(pathToFileURL(requireNm.resolve(pkg)).href);
const have = (pkg) => fs.existsSync(path.join(NM, pkg, 'package.json'));
const missing = [BIN, ...['openai', 'ai', '@ai-sdk/openai', '@ai-sdk/anthropic', '@anthropic-ai/sdk', 'ollama']
    .filter((p) => !have(p))].filter((p) => p !== BIN || !fs.existsSync(BIN));
// Under meson (CHATSEAL_BUILD set) nothing skips: a missing piece fails.
const skip = missing.length && !process.env.CHATSEAL_BUILD ? `not available: ${missing.join(', ')}` : false;
globalThis.AI_SDK_LOG_WARNINGS = false;

let gw;
let gwUrl;
let gwLog = '';

test.before(async () => {
    if (skip) return;
    const env = { ...process.env, CHATSEAL_KEYS: '', CHATSEAL_KEY_FILE: '', CHATSEAL_DEV: '' };
    gw = spawn(BIN, ['serve', '--upstream', 'mock', '--dev', '--listen', '127.0.0.1:0', '--store', 'none'],
        { env, stdio: ['ignore', 'pipe', 'pipe'] });
    gwUrl = await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "listening" line in 10 s:\n${gwLog}`)), 10000);
        gw.on('exit', (c) => reject(new Error(`chatseal serve exited (${c}):\n${gwLog}`)));
        gw.stderr.on('data', (d) => {
            gwLog += d;
            const m = gwLog.match(/"event":"listening","address":"(127\.0\.0\.1:\d+)"/);
            if (m) {
                clearTimeout(t);
                resolve(`http://${m[1]}`);
            }
        });
    });
});

test.after(async () => {
    if (!gw || gw.exitCode !== null) return;
    await new Promise((resolve) => {
        const t = setTimeout(() => gw.kill('SIGKILL'), 5000);
        gw.once('exit', () => {
            clearTimeout(t);
            resolve();
        });
        gw.kill('SIGTERM');
    });
});

// The count the helper's stored token covers.
const count = async (f, conversation) => (await f.current(conversation))?.count;

test('openai: responses.create (JSON, stream) and responses.stream()', { skip }, async () => {
    const { default: OpenAI } = await load('openai');
    const fetch = chatsealFetch();
    const client = new OpenAI({ baseURL: `${gwUrl}/v1`, apiKey: 'k', fetch, maxRetries: 0 });
    const input = [];
    for (let i = 0; i < 4; i++) {
        input.push({ role: 'user', content: `Question ${i}: ünïcödé 世界?` });
        let r;
        if (i === 0 || i === 3) {
            r = await client.responses.create({ model: 'mock', input, store: false });
        } else if (i === 1) {
            r = await client.responses.stream({ model: 'mock', input, store: false }).finalResponse();
        } else {
            const s = await client.responses.create({ model: 'mock', input, store: false, stream: true });
            for await (const e of s) if (e.type === 'response.completed') r = e.response;
        }
        assert.ok(r.output.some((o) => o.type === 'message'), `turn ${i}: a reply`);
        input.push(...r.output);
        assert.equal(await count(fetch), input.length, `turn ${i}: the token covers the history`);
    }
    const good = (await fetch.current()).token;
    input[0] = { role: 'user', content: 'Something I never said.' };
    input.push({ role: 'user', content: 'And?' });
    await assert.rejects(client.responses.create({ model: 'mock', input, store: false }),
        (e) => e.status === 403 && e.code === 'content_changed');
    assert.equal((await fetch.current()).token, good, 'a refusal keeps the last good token');
});

test('AI SDK: the default openai(model) (Responses), generateText and streamText', { skip }, async () => {
    const { generateText, streamText } = await load('ai');
    const { createOpenAI } = await load('@ai-sdk/openai');
    const fetch = chatsealFetch();
    const openai = createOpenAI({ baseURL: `${gwUrl}/v1`, apiKey: 'k', fetch });
    const messages = [];
    for (let i = 0; i < 4; i++) {
        messages.push({ role: 'user', content: `Question ${i}?` });
        const opts = { model: openai('mock'), messages, providerOptions: { openai: { store: false } }, maxRetries: 0 };
        const r = i % 2 ? await generateText(opts) : streamText(opts);
        assert.ok(await r.text, `turn ${i}: a reply`);
        messages.push(...(await r.response).messages);
        assert.equal(await count(fetch), messages.length, `turn ${i}: the token covers the history`);
    }
});

test('AI SDK: @ai-sdk/anthropic, generateText and streamText', { skip }, async () => {
    const { generateText, streamText } = await load('ai');
    const { createAnthropic } = await load('@ai-sdk/anthropic');
    const fetch = chatsealFetch();
    const anthropic = createAnthropic({ baseURL: `${gwUrl}/v1`, apiKey: 'k', fetch });
    const messages = [];
    for (let i = 0; i < 4; i++) {
        messages.push({ role: 'user', content: `Question ${i}?` });
        const opts = { model: anthropic('mock'), messages, maxOutputTokens: 256, maxRetries: 0 };
        const r = i % 2 ? await generateText(opts) : streamText(opts);
        assert.ok(await r.text, `turn ${i}: a reply`);
        messages.push(...(await r.response).messages);
        assert.equal(await count(fetch), messages.length, `turn ${i}: the token covers the history`);
    }
});

test('@anthropic-ai/sdk: messages.create (JSON, stream) and messages.stream()', { skip }, async () => {
    const { default: Anthropic } = await load('@anthropic-ai/sdk');
    const fetch = chatsealFetch({ conversation: 'c-anthropic-1' });
    const client = new Anthropic({ baseURL: gwUrl, apiKey: 'k', fetch, maxRetries: 0 });
    const messages = [];
    const req = { model: 'mock', max_tokens: 256 };
    for (let i = 0; i < 4; i++) {
        messages.push({ role: 'user', content: `Question ${i}?` });
        let m;
        if (i === 1) m = await client.messages.stream({ ...req, messages }).finalMessage();
        else if (i === 2) {
            const content = [];
            for await (const e of await client.messages.create({ ...req, messages, stream: true })) {
                if (e.type === 'content_block_start') content[e.index] = { ...e.content_block };
                if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') content[e.index].text += e.delta.text;
            }
            m = { role: 'assistant', content };
        } else m = await client.messages.create({ ...req, messages });
        messages.push({ role: 'assistant', content: m.content });
        assert.equal(await count(fetch, 'c-anthropic-1'), messages.length, `turn ${i}: the token covers the history`);
    }
    assert.equal(await fetch.current(), undefined, 'kept under the conversation id only');
    messages[1] = { role: 'assistant', content: 'I never said this.' };
    messages.push({ role: 'user', content: 'And?' });
    await assert.rejects(client.messages.create({ ...req, messages }),
        (e) => e.status === 403 && e.error?.error?.code === 'content_changed');
});

test('ollama: chat, streamed (the default) and not', { skip }, async () => {
    const { Ollama } = await load('ollama');
    const fetch = chatsealFetch();
    const ollama = new Ollama({ host: gwUrl, fetch });
    const messages = [];
    for (let i = 0; i < 4; i++) {
        messages.push({ role: 'user', content: `Question ${i}?` });
        let content = '';
        if (i % 2 === 0) {
            for await (const part of await ollama.chat({ model: 'mock', messages, stream: true })) content += part.message.content;
        } else {
            content = (await ollama.chat({ model: 'mock', messages, stream: false })).message.content;
        }
        assert.ok(content, `turn ${i}: a reply`);
        messages.push({ role: 'assistant', content });
        assert.equal(await count(fetch), messages.length, `turn ${i}: the token covers the history`);
    }
    messages.splice(1, 1);
    messages.push({ role: 'user', content: 'And?' });
    await assert.rejects(ollama.chat({ model: 'mock', messages, stream: false }), (e) => e.status_code === 403);
});
