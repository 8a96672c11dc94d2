// sdks.test.mjs -- the helper inside the real SDKs, one line each, over a
// fake fetch that answers with the synthetic gateway replies of
// fixtures.mjs (no gateway, no network): the SDK still parses every reply
// (so nothing was changed or lost on the way), and its next request carries
// the token of the previous reply.  Covers `openai` responses.create
// (streamed and not), the AI SDK's default `openai(model)` (= Responses)
// and `@ai-sdk/anthropic`, `@anthropic-ai/sdk` (messages.create and
// messages.stream), `ollama` (chat, streamed and not).
// The SDKs come from tests/node/node_modules (CHATSEAL_NODE_MODULES, set by
// meson; else found relative to this file); run by hand without them, the
// tests skip; under meson they fail.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chatsealFetch } from '../index.js';
import {
    seal, json, streamed, fakeFetch, responsesBody, responsesStream, messagesBody,
    messagesStream, ollamaBody, ollamaStream,
} from './fixtures.mjs';

const NM = process.env.CHATSEAL_NODE_MODULES ||
    path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../tests/node/node_modules');
const have = (pkg) => fs.existsSync(path.join(NM, pkg, 'package.json'));
const load = async (pkg, sub = '') => {
    const meta = JSON.parse(fs.readFileSync(path.join(NM, pkg, 'package.json'), 'utf8'));
    // resolve the package's ESM entry the way Node would from tests/node
    const { createRequire } = await import('node:module');
    const req = createRequire(path.join(NM, 'index.js'));
    let entry;
    try {
        entry = req.resolve(pkg + sub);
    } catch {
        entry = path.join(NM, pkg, meta.module || meta.main);
    }
    return import(pathToFileURL(entry).href);
};
// Under meson (CHATSEAL_NODE_MODULES set) nothing skips: a missing SDK fails.
const skip = (...pkgs) => (pkgs.every(have) || process.env.CHATSEAL_NODE_MODULES ? false
    : `${pkgs.join(', ')} not installed in ${NM}`);

globalThis.AI_SDK_LOG_WARNINGS = false;
const GW = 'http://127.0.0.1:9';
const TEXT = 'Grüße, 世界 👍';
const SSE = 'text/event-stream';

test('openai: responses.create, streamed and not', { skip: skip('openai') }, async () => {
    const { default: OpenAI } = await load('openai');
    const base = fakeFetch([
        json(responsesBody(TEXT, seal(2)), 200, { 'chatseal-token': 'cs1.tok2' }),
        streamed(responsesStream(TEXT, seal(4)), SSE, 11),
        streamed(responsesStream(TEXT, seal(5)), SSE, 64),
        json(responsesBody(TEXT, seal(6))),
    ]);
    const client = new OpenAI({ apiKey: 'k', baseURL: `${GW}/v1`, fetch: chatsealFetch({ fetch: base }), maxRetries: 0 });
    const r1 = await client.responses.create({ model: 'mock', input: 'hi', store: false });
    assert.equal(r1.output_text, TEXT);
    assert.equal(r1.chatseal.token, 'cs1.tok2', 'the chatseal member reaches the app');
    const input = [{ role: 'user', content: 'hi' }, ...r1.output, { role: 'user', content: 'more' }];
    const events = [];
    let text = '';
    for await (const e of await client.responses.create({ model: 'mock', input, store: false, stream: true })) {
        events.push(e.type);
        if (e.type === 'response.output_text.delta') text += e.delta;
    }
    assert.equal(text, TEXT);
    assert.equal(events.at(-2), 'response.completed');
    assert.equal(events.at(-1), 'keepalive', 'the token event passes through to the app');
    // the stream helper accumulates every event (and throws on unknown types)
    const final = await client.responses.stream({ model: 'mock', input, store: false }).finalResponse();
    assert.equal(final.output_text, TEXT);
    await client.responses.create({ model: 'mock', input, store: false });
    assert.equal(base.calls[0].url, `${GW}/v1/responses`);
    assert.equal(base.calls[0].headers.get('chatseal-token'), null);
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok2');
    assert.equal(base.calls[2].headers.get('chatseal-token'), 'cs1.tok4');
    assert.equal(base.calls[3].headers.get('chatseal-token'), 'cs1.tok5');
});

test('AI SDK: the default openai(model) is Responses', { skip: skip('ai', '@ai-sdk/openai') }, async () => {
    const { generateText, streamText } = await load('ai');
    const { createOpenAI } = await load('@ai-sdk/openai');
    const base = fakeFetch([
        json(responsesBody(TEXT, seal(2))),
        streamed(responsesStream(TEXT, seal(4)), SSE, 13),
        json(responsesBody(TEXT, seal(6))),
    ]);
    const openai = createOpenAI({ apiKey: 'k', baseURL: `${GW}/v1`, fetch: chatsealFetch({ fetch: base }) });
    const opts = { providerOptions: { openai: { store: false } }, maxRetries: 0 };
    const r1 = await generateText({ model: openai('mock'), prompt: 'hi', ...opts });
    assert.equal(r1.text, TEXT);
    const messages = [{ role: 'user', content: 'hi' }, ...r1.response.messages, { role: 'user', content: 'more' }];
    const s = streamText({ model: openai('mock'), messages, ...opts });
    assert.equal(await s.text, TEXT);
    await generateText({ model: openai('mock'), messages, ...opts });
    assert.equal(base.calls[0].url, `${GW}/v1/responses`, 'openai(model) calls the Responses API');
    // with store: false the history goes back whole, never as item_reference
    const sent = JSON.parse(base.calls[2].body);
    assert.equal(sent.store, false);
    assert.ok(sent.input.some((i) => i.role === 'assistant'), JSON.stringify(sent.input));
    assert.ok(!sent.input.some((i) => i.type === 'item_reference'), JSON.stringify(sent.input));
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok2');
    assert.equal(base.calls[2].headers.get('chatseal-token'), 'cs1.tok4');
});

test('AI SDK: @ai-sdk/anthropic', { skip: skip('ai', '@ai-sdk/anthropic') }, async () => {
    const { generateText, streamText } = await load('ai');
    const { createAnthropic } = await load('@ai-sdk/anthropic');
    const base = fakeFetch([
        json(messagesBody(TEXT, seal(2))),
        streamed(messagesStream(TEXT, seal(4)), SSE, 13),
        json(messagesBody(TEXT, seal(6))),
    ]);
    const anthropic = createAnthropic({ apiKey: 'k', baseURL: `${GW}/v1`, fetch: chatsealFetch({ fetch: base }) });
    const r1 = await generateText({ model: anthropic('mock'), prompt: 'hi', maxRetries: 0 });
    assert.equal(r1.text, TEXT);
    const messages = [{ role: 'user', content: 'hi' }, ...r1.response.messages, { role: 'user', content: 'more' }];
    assert.equal(await streamText({ model: anthropic('mock'), messages, maxRetries: 0 }).text, TEXT);
    await generateText({ model: anthropic('mock'), messages, maxRetries: 0 });
    assert.equal(base.calls[0].url, `${GW}/v1/messages`);
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok2');
    assert.equal(base.calls[2].headers.get('chatseal-token'), 'cs1.tok4');
});

test('@anthropic-ai/sdk: messages.create and messages.stream()', { skip: skip('@anthropic-ai/sdk') }, async () => {
    const { default: Anthropic } = await load('@anthropic-ai/sdk');
    const base = fakeFetch([
        json(messagesBody(TEXT, seal(2))),
        streamed(messagesStream(TEXT, seal(4)), SSE, 5),
        streamed(messagesStream(TEXT, seal(6)), SSE, 64),
        json(messagesBody(TEXT, seal(8))),
    ]);
    const client = new Anthropic({ apiKey: 'k', baseURL: GW, fetch: chatsealFetch({ fetch: base }), maxRetries: 0 });
    const req = { model: 'mock', max_tokens: 64 };
    const m1 = await client.messages.create({ ...req, messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(m1.content, [{ type: 'text', text: TEXT }]);
    const messages = [{ role: 'user', content: 'hi' }, { role: m1.role, content: m1.content }, { role: 'user', content: 'more' }];
    const m2 = await client.messages.stream({ ...req, messages }).finalMessage();
    assert.equal(m2.content[0].text, TEXT);
    let text = '';
    for await (const e of await client.messages.create({ ...req, messages, stream: true })) {
        if (e.type === 'content_block_delta') text += e.delta.text;
        if (e.type === 'message_stop') assert.equal(e.chatseal.token, 'cs1.tok6', 'message_stop carries the token to the app');
    }
    assert.equal(text, TEXT);
    await client.messages.create({ ...req, messages });
    assert.equal(base.calls[0].url, `${GW}/v1/messages`);
    assert.deepEqual(base.calls.map((c) => c.headers.get('chatseal-token')),
        [null, 'cs1.tok2', 'cs1.tok4', 'cs1.tok6']);
});

test('ollama: chat, streamed (the default) and not', { skip: skip('ollama') }, async () => {
    const { Ollama } = await load('ollama');
    const ND = 'application/x-ndjson';
    const base = fakeFetch([
        streamed(ollamaStream(TEXT, seal(2)), ND, 9),
        json(ollamaBody(TEXT, seal(4))),
        streamed(ollamaStream(TEXT, seal(6)), ND, 4096),
        json(ollamaBody(TEXT, seal(8))),
    ]);
    const ollama = new Ollama({ host: GW, fetch: chatsealFetch({ fetch: base }) });
    const messages = [{ role: 'user', content: 'hi' }];
    let text = '';
    let last;
    for await (const part of await ollama.chat({ model: 'mock', messages, stream: true })) {
        text += part.message.content;
        last = part;
    }
    assert.equal(text, TEXT);
    assert.equal(last.chatseal.token, 'cs1.tok2', 'the done line reaches the app with its chatseal');
    messages.push({ role: 'assistant', content: text }, { role: 'user', content: 'more' });
    const r2 = await ollama.chat({ model: 'mock', messages, stream: false });
    assert.equal(r2.message.content, TEXT);
    for await (const part of await ollama.chat({ model: 'mock', messages, stream: true })) {
        if (part.done) break; // as apps do
    }
    await ollama.chat({ model: 'mock', messages, stream: false });
    assert.equal(base.calls[0].url, `${GW}/api/chat`);
    assert.deepEqual(base.calls.map((c) => c.headers.get('chatseal-token')),
        [null, 'cs1.tok2', 'cs1.tok4', 'cs1.tok6']);
});
