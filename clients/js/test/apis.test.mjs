// apis.test.mjs -- the helper on every API the gateway speaks (Responses,
// Anthropic Messages, Ollama; Chat Completions is helper.test.mjs), against
// synthetic replies in each wire format (fixtures.mjs) and a fake fetch: the
// token is found in the JSON body, the header, an SSE event or an NDJSON
// line; it is sent back on the next request of the same API; the SDK gets
// every byte unchanged, piece by piece (never buffered).
// Run: node --test clients/js/test/
import test from 'node:test';
import assert from 'node:assert/strict';
import {
    chatsealFetch, apiOf, chatsealOf, isChatsealChunk, signedOutput, signedMessage, API_PATHS,
} from '../index.js';
import {
    seal, json, streamed, fakeFetch, responsesBody, responsesStream, messagesBody,
    messagesStream, ollamaBody, ollamaStream, chatStream,
} from './fixtures.mjs';

const GW = 'http://gw.test';
const post = (body = {}) => ({
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});
const TEXT = 'Grüße, 世界 — ok 👍';

// Every API: [name, url, streamed reply, its content type, JSON reply]
const APIS = [
    ['responses', `${GW}/v1/responses`, responsesStream, 'text/event-stream', responsesBody],
    ['messages', `${GW}/v1/messages`, messagesStream, 'text/event-stream', messagesBody],
    ['ollama', `${GW}/api/chat`, ollamaStream, 'application/x-ndjson', ollamaBody],
    ['chat', `${GW}/v1/chat/completions`, chatStream, 'text/event-stream', null],
];

test('apiOf: the four paths, by suffix, and nothing else', () => {
    assert.equal(apiOf('http://h/v1/chat/completions'), 'chat');
    assert.equal(apiOf('http://h/v1/responses'), 'responses');
    assert.equal(apiOf('https://h/openai/v1/responses/'), 'responses');
    assert.equal(apiOf('http://h/v1/messages'), 'messages');
    assert.equal(apiOf('http://h/v1/messages?beta=true'), 'messages');
    assert.equal(apiOf('http://h:11434/api/chat'), 'ollama');
    for (const u of ['http://h/v1/messages/count_tokens', 'http://h/v1/threads/t/messages',
        'http://h/v1/responses/resp_1', 'http://h/api/generate', 'http://h/v1/models', 'not a url']) {
        assert.equal(apiOf(u), undefined, u);
    }
    assert.deepEqual(Object.keys(API_PATHS), ['chat', 'responses', 'messages', 'ollama']);
});

for (const [api, url, stream, type] of APIS) {
    test(`${api}: a stream passes byte for byte, in pieces; the token is kept and sent back`, async () => {
        const whole = stream(TEXT, seal(2));
        const base = fakeFetch([streamed(whole, type, 7), json({})]);
        const f = chatsealFetch({ fetch: base });
        const res = await f(url, post({ stream: true }));
        assert.equal(res.headers.get('content-type'), type);
        // read piece by piece: the pieces reach the reader as they arrive
        const reader = res.body.getReader();
        const got = [];
        for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            got.push(value);
        }
        assert.ok(got.length > 10, `streamed in pieces, not buffered (${got.length})`);
        assert.ok(got.every((p) => p.length <= 7), 'no piece was merged with another');
        const bytes = Buffer.concat(got.map((p) => Buffer.from(p)));
        assert.equal(bytes.toString('utf8'), whole, 'the SDK reads the bytes the gateway sent');
        const rec = await f.current();
        assert.equal(rec.token, 'cs1.tok2');
        assert.equal(rec.count, 2);
        if (api !== 'chat') assert.ok(rec.output, 'the signed output is kept');
        await f(url, post());
        assert.equal(base.calls[0].headers.get('chatseal-token'), null, 'no token on a fresh conversation');
        assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok2');
    });

    test(`${api}: the token is stored before the piece that carries it is handed on`, async () => {
        const whole = stream(TEXT, seal(4));
        // cut right after the carrier ends (blank line / newline): the
        // reader can act on it as soon as it has that piece
        const at = whole.lastIndexOf('"chatseal"');
        const end = whole.indexOf(type === 'application/x-ndjson' ? '\n' : '\n\n', at) + (type === 'application/x-ndjson' ? 1 : 2);
        const base = fakeFetch([streamed(whole, type, Buffer.byteLength(whole.slice(0, end)))]);
        const f = chatsealFetch({ fetch: base });
        const res = await f(url, post({ stream: true }));
        const reader = res.body.getReader();
        const { value } = await reader.read();
        assert.ok(Buffer.from(value).toString('utf8').includes('"token":"cs1.tok4"'));
        assert.equal((await f.current())?.token, 'cs1.tok4');
        await reader.cancel();
    });

    test(`${api}: a stream without a token (cut, or an error event) changes nothing`, async () => {
        const base = fakeFetch([
            json({ chatseal: seal(3) }),
            streamed(stream(TEXT, null), type),
            json({}),
        ]);
        const f = chatsealFetch({ fetch: base });
        await f(url, post());
        await (await f(url, post({ stream: true }))).text();
        await f(url, post());
        assert.equal(base.calls[2].headers.get('chatseal-token'), 'cs1.tok3');
    });
}

for (const [api, url, , , body] of APIS.filter((a) => a[4])) {
    test(`${api}: non-streamed JSON: the body passes unchanged, its chatseal member is kept`, async () => {
        const text = JSON.stringify(body(TEXT, seal(6)));
        const base = fakeFetch([
            new Response(text, { headers: { 'content-type': 'application/json', 'chatseal-token': 'cs1.tok6' } }),
            json({}),
        ]);
        const f = chatsealFetch({ fetch: base });
        const res = await f(url, post());
        assert.equal(await res.text(), text);
        const rec = await f.current();
        assert.deepEqual(rec.output, JSON.parse(text).chatseal.output);
        await f(url, post());
        assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok6');
    });

    test(`${api}: a token over 8 KiB comes from the body (the gateway sends no header)`, async () => {
        const big = 'cs1.' + 'B'.repeat(9000);
        const base = fakeFetch([json(body(TEXT, { token: big, count: 40, kid: 'k' })), json({})]);
        const f = chatsealFetch({ fetch: base });
        await f(url, post());
        await f(url, post());
        assert.equal(base.calls[1].headers.get('chatseal-token'), big);
    });

    test(`${api}: the header alone is a fallback; refusals keep the old token`, async () => {
        const refusal = api === 'messages'
            ? { type: 'error', error: { type: 'permission_error', message: 'changed', code: 'content_changed' } }
            : api === 'ollama' ? { error: 'changed', code: 'content_changed' }
                : { error: { message: 'changed', type: 'chatseal_error', code: 'content_changed' } };
        const base = fakeFetch([
            json(body(TEXT), 200, { 'chatseal-token': 'cs1.hdr' }),
            json({ ...refusal, chatseal: seal(9) }, 403, { 'chatseal-token': 'cs1.bad' }),
            json({}),
        ]);
        const f = chatsealFetch({ fetch: base });
        await f(url, post());
        assert.equal((await f(url, post())).status, 403);
        await f(url, post());
        assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.hdr');
        assert.equal(base.calls[2].headers.get('chatseal-token'), 'cs1.hdr');
    });
}

test('a token over 8 KiB in each stream format', async () => {
    const big = 'cs1.' + 'C'.repeat(12000);
    for (const [api, url, stream, type] of APIS) {
        const base = fakeFetch([streamed(stream(TEXT, { token: big, count: 2, kid: 'k' }), type, 1000), json({})]);
        const f = chatsealFetch({ fetch: base });
        await (await f(url, post({ stream: true }))).arrayBuffer();
        await f(url, post());
        assert.equal(base.calls[1].headers.get('chatseal-token'), big, api);
    }
});

test('ollama: a reader that stops at the done line (as ollama-js does) still leaves the token stored', async () => {
    const whole = ollamaStream(TEXT, seal(8));
    const base = fakeFetch([streamed(whole, 'application/x-ndjson', Buffer.byteLength(whole)), json({})]);
    const f = chatsealFetch({ fetch: base });
    const res = await f(`${GW}/api/chat`, post());
    const reader = res.body.getReader();
    const { value } = await reader.read();
    assert.match(Buffer.from(value).toString('utf8'), /"done":true/);
    await reader.cancel();
    await f(`${GW}/api/chat`, post());
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok8');
});

test('ollama: the done line without a final newline, CRLF line ends', async () => {
    const whole = ollamaStream(TEXT, seal(5)).replace(/\n/g, '\r\n').replace(/\r\n$/, '');
    const base = fakeFetch([streamed(whole, 'application/x-ndjson; charset=utf-8', 5)]);
    const f = chatsealFetch({ fetch: base });
    assert.equal(await (await f(`${GW}/api/chat`, post())).text(), whole);
    assert.equal((await f.current()).token, 'cs1.tok5');
});

test('one conversation key across APIs; the apis option limits where tokens go', async () => {
    const base = fakeFetch([json(responsesBody('a', seal(2))), json({}), json({}), json({})]);
    const f = chatsealFetch({ fetch: base, conversation: 'c-9', apis: ['responses'] });
    await f(`${GW}/v1/responses`, post());
    await f(`${GW}/v1/responses`, post());
    await f(`${GW}/v1/messages`, post());
    await f(`${GW}/v1/messages/count_tokens`, post());
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok2');
    assert.equal(base.calls[1].headers.get('chatseal-conversation'), 'c-9');
    assert.equal(base.calls[2].headers.get('chatseal-token'), null, 'messages is not in apis');
    assert.equal(base.calls[3].headers.get('chatseal-token'), null, 'count_tokens is not a chat path');
    assert.equal((await f.current('c-9')).token, 'cs1.tok2');
});

test('GET requests and a Request object as input', async () => {
    const base = fakeFetch([json(messagesBody('x', seal(2))), json({}), json({})]);
    const f = chatsealFetch({ fetch: base });
    await f(new Request(`${GW}/v1/messages`, { method: 'POST', body: '{}' }));
    await f(new Request(`${GW}/v1/messages`, { method: 'POST', body: '{}', headers: { 'x-api-key': 'k' } }));
    await f(`${GW}/v1/responses`);
    assert.equal(base.calls[1].headers.get('chatseal-token'), 'cs1.tok2');
    assert.equal(base.calls[1].headers.get('x-api-key'), 'k', "the request's own headers are kept");
    assert.equal(base.calls[2].headers.get('chatseal-token'), null);
});

test('typed accessors on every API', () => {
    const ev = { type: 'keepalive', sequence_number: 12, chatseal: seal(4, { output: [{ type: 'message' }] }) };
    assert.equal(isChatsealChunk(ev), true);
    assert.equal(isChatsealChunk({ ...ev, type: 'response.chatseal' }), true);
    assert.equal(isChatsealChunk({ type: 'keepalive', sequence_number: 3 }), false, 'a plain keepalive');
    assert.deepEqual(signedOutput(ev), [{ type: 'message' }]);
    assert.equal(isChatsealChunk({ type: 'response.completed', response: {} }), false);
    const stop = { type: 'message_stop', chatseal: seal(2, { output: { role: 'assistant', content: [] } }) };
    assert.equal(chatsealOf(stop).token, 'cs1.tok2');
    assert.equal(isChatsealChunk(stop), false, 'message_stop is the API end marker, not ours alone');
    assert.deepEqual(signedOutput(ollamaBody('hi', seal(2))), { role: 'assistant', content: 'hi' });
    assert.equal(signedOutput({ chatseal: { token: 'cs1.x', count: 'two', kid: 'k' } }), undefined);
    assert.equal(signedMessage(ollamaBody('hi', seal(2))), undefined);
});
