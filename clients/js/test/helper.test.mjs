// helper.test.mjs -- the chatseal fetch helper against a scripted fake fetch
// (no network): what it sends, what it stores, and that it hands the SDK
// every byte unchanged.  Run: node --test clients/js/test/
import test from 'node:test';
import assert from 'node:assert/strict';
import {
    chatsealFetch, chatsealOf, isChatsealChunk, signedMessage, MemoryTokenStore,
} from '../index.js';

const URL_CHAT = 'http://gw.test/v1/chat/completions';

// A fake fetch: records each call's headers, answers from a script.
function fakeFetch(answers) {
    const calls = [];
    const f = async (input, init = {}) => {
        calls.push({ url: String(input), method: init.method, headers: new Headers(init.headers) });
        const a = answers.shift();
        if (typeof a === 'function') return a();
        return a;
    };
    f.calls = calls;
    return f;
}

function json(obj, status = 200, headers = {}) {
    return new Response(JSON.stringify(obj), {
        status, headers: { 'content-type': 'application/json', ...headers },
    });
}

// An SSE response delivered in the given byte pieces.
function sse(pieces) {
    const enc = new TextEncoder();
    const body = new ReadableStream({
        start(c) {
            for (const p of pieces) c.enqueue(enc.encode(p));
            c.close();
        },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

const seal = (n, extra = {}) => ({ token: `cs1.tok${n}`, count: n, kid: 'k1', ...extra });
const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' };

test('sends no token first, then the newest one from JSON bodies', async () => {
    const base = fakeFetch([
        json({ choices: [{ message: { role: 'assistant', content: 'a' } }], chatseal: seal(3) }),
        json({ choices: [{ message: { role: 'assistant', content: 'b' } }], chatseal: seal(5) }),
        json({ choices: [] }),
    ]);
    const f = chatsealFetch({ fetch: base });
    await (await f(URL_CHAT, post)).json();
    await (await f(URL_CHAT, post)).json();
    await f(URL_CHAT, post);
    assert.equal(base.calls[0].headers.get('chatseal-token'), null);
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok3');
    assert.equal(base.calls[2].headers.get('chatseal-token'), 'cs1.tok5');
    const rec = await f.current();
    assert.deepEqual(rec, { token: 'cs1.tok5', count: 5, kid: 'k1',
        message: { role: 'assistant', content: 'b' } });
});

test('the body the SDK reads is the body the gateway sent', async () => {
    const text = '{"choices":[{"message":{"content":"x","role":"assistant"}}],"chatseal":{"count":2,"kid":"k","token":"cs1.a"}}';
    const base = fakeFetch([new Response(text, { headers: { 'content-type': 'application/json' } })]);
    const f = chatsealFetch({ fetch: base });
    const res = await f(URL_CHAT, post);
    assert.equal(await res.text(), text);
    assert.equal((await f.current()).token, 'cs1.a');
});

test('a token over 8 KiB comes from the body (no header)', async () => {
    const big = 'cs1.' + 'A'.repeat(9000);
    const base = fakeFetch([json({ choices: [], chatseal: { token: big, count: 9, kid: 'k' } }), json({})]);
    const f = chatsealFetch({ fetch: base });
    await f(URL_CHAT, post);
    await f(URL_CHAT, post);
    assert.equal(base.calls[1].headers.get('chatseal-token'), big);
});

test('the response header is a fallback when the body has no chatseal', async () => {
    const base = fakeFetch([json({ ok: 1 }, 200, { 'chatseal-token': 'cs1.hdr' }), json({})]);
    const f = chatsealFetch({ fetch: base });
    await f(URL_CHAT, post);
    await f(URL_CHAT, post);
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.hdr');
});

test('errors never change the store', async () => {
    const base = fakeFetch([
        json({ choices: [], chatseal: seal(3) }),
        json({ error: { code: 'content_changed' }, chatseal: seal(99) }, 403),
        json({}),
    ]);
    const f = chatsealFetch({ fetch: base });
    await f(URL_CHAT, post);
    const r = await f(URL_CHAT, post);
    assert.equal(r.status, 403);
    await f(URL_CHAT, post);
    assert.equal(base.calls[2].headers.get('chatseal-token'), 'cs1.tok3');
});

test('SSE: bytes pass unchanged; the token is read across split CRLF events', async () => {
    const final = JSON.stringify({ choices: [], chatseal: seal(4, { message: { role: 'assistant', content: 'hi' } }) });
    const whole = 'data: {"choices":[{"delta":{"content":"hi"}}]}\r\n\r\n' +
        `data: ${final}\r\n\r\ndata: [DONE]\r\n\r\n`;
    // cut everywhere awkward: inside the JSON, between \r and \n
    const cuts = [7, whole.indexOf('\r\n\r\n') + 1, whole.indexOf('chatseal') + 3, whole.length - 3];
    const pieces = [];
    let at = 0;
    for (const c of cuts) { pieces.push(whole.slice(at, c)); at = c; }
    pieces.push(whole.slice(at));
    const base = fakeFetch([sse(pieces), json({})]);
    const f = chatsealFetch({ fetch: base });
    const res = await f(URL_CHAT, post);
    assert.equal(await res.text(), whole);
    const rec = await f.current();
    assert.equal(rec.token, 'cs1.tok4');
    assert.deepEqual(rec.message, { role: 'assistant', content: 'hi' });
    await f(URL_CHAT, post);
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok4');
});

test('SSE: the token is stored before the chunk that carries it is handed on', async () => {
    const final = JSON.stringify({ choices: [], chatseal: seal(6) });
    const base = fakeFetch([sse([`data: ${final}\n\n`, 'data: [DONE]\n\n'])]);
    let storedWhenSeen = null;
    const f = chatsealFetch({ fetch: base });
    const res = await f(URL_CHAT, post);
    const reader = res.body.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /chatseal/);
    storedWhenSeen = (await f.current())?.token;
    assert.equal(storedWhenSeen, 'cs1.tok6');
    await reader.cancel();
});

test('SSE with LF only, last event without a blank line', async () => {
    const final = JSON.stringify({ choices: [], chatseal: seal(2) });
    const base = fakeFetch([sse([`data: {"choices":[]}\n\ndata:${final}`])]);
    const f = chatsealFetch({ fetch: base });
    await (await f(URL_CHAT, post)).text();
    assert.equal((await f.current()).token, 'cs1.tok2');
});

test('conversations are kept apart; the conversation header is sent', async () => {
    const base = fakeFetch([
        json({ choices: [], chatseal: seal(3) }),
        json({ choices: [], chatseal: seal(7) }),
        json({}), json({}),
    ]);
    const f = chatsealFetch({ fetch: base, conversation: 'c-1' });
    await f(URL_CHAT, post);
    await f(URL_CHAT, { ...post, headers: { 'Chatseal-Conversation': 'c-2' } });
    await f(URL_CHAT, post);
    await f(URL_CHAT, { ...post, headers: { 'Chatseal-Conversation': 'c-2' } });
    assert.equal(base.calls[0].headers.get('chatseal-conversation'), 'c-1');
    assert.equal(base.calls[2].headers.get('chatseal-token'), 'cs1.tok3');
    assert.equal(base.calls[3].headers.get('chatseal-token'), 'cs1.tok7');
    assert.equal(base.calls[3].headers.get('chatseal-conversation'), 'c-2');
    f.reset('c-1');
    assert.equal(await f.current('c-1'), undefined);
});

test('an app-set token wins; sendToken:false sends none; other paths pass through', async () => {
    const base = fakeFetch([json({ choices: [], chatseal: seal(3) }), json({}), json({}), json({})]);
    const f = chatsealFetch({ fetch: base });
    await f(URL_CHAT, post);
    await f(URL_CHAT, { ...post, headers: { 'Chatseal-Token': 'cs1.mine' } });
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.mine');
    await f('http://gw.test/v1/models');
    assert.equal(base.calls[2].headers.get('chatseal-token'), null);
    const g = chatsealFetch({ fetch: base, sendToken: false, store: f.store });
    await g(URL_CHAT, post);
    assert.equal(base.calls[3].headers.get('chatseal-token'), null);
});

test('a pluggable async store', async () => {
    const data = new Map();
    const store = {
        async get(k) { return data.get(k); },
        async set(k, v) { data.set(k, v); },
        async delete(k) { data.delete(k); },
    };
    const seen = [];
    const base = fakeFetch([json({ choices: [], chatseal: seal(3) }), json({})]);
    const f = chatsealFetch({ fetch: base, store, onToken: (r, k) => seen.push([k, r.token]) });
    await f(URL_CHAT, post);
    await f(URL_CHAT, post);
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok3');
    assert.deepEqual(seen, [['default', 'cs1.tok3']]);
    assert.ok(new MemoryTokenStore().get('x') === undefined);
});

test('typed accessors', () => {
    const chunk = { choices: [], chatseal: seal(4, { message: { role: 'assistant', content: 'm' } }) };
    assert.equal(isChatsealChunk(chunk), true);
    assert.deepEqual(signedMessage(chunk), { role: 'assistant', content: 'm' });
    const completion = { choices: [{ message: { role: 'assistant', content: 'c' } }], chatseal: seal(2) };
    assert.equal(isChatsealChunk(completion), false);
    assert.deepEqual(signedMessage(completion), { role: 'assistant', content: 'c' });
    assert.equal(chatsealOf({ chatseal: { token: 1 } }), undefined);
    assert.equal(chatsealOf(null), undefined);
    assert.equal(signedMessage({ choices: [] }), undefined);
});
