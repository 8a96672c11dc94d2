// sdk_openai.mjs -- the official `openai` npm SDK against the real
// `chatseal serve` (built-in mock model): an app that changes only two things,
// it sends the token of the previous turn and keeps the new one.
//
//   1. five turns, non-streaming, token in the Chatseal-Token header, read
//      back from the response header and from `chatseal` in the body;
//   2. five turns, streaming, token in the `chatseal_token` body field, read
//      from the final chunk (empty choices, `chatseal` {token, message});
//      the SDK consumes the extra chunk without error;
//   3. a streamed tool call, the tool's result, and the model's answer;
//   4. a tampered history surfaces as an APIError with status 403 and the
//      stable code; a cut stream surfaces as an error, never a token.
// Exit 0 on success; 77 if the SDK is not installed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const BUILD = process.env.CHATSEAL_BUILD;
const MODULES = process.env.CHATSEAL_NODE_MODULES;
if (!BUILD || !MODULES) {
    console.error('CHATSEAL_BUILD / CHATSEAL_NODE_MODULES not set');
    process.exit(1);
}
if (!fs.existsSync(path.join(MODULES, 'openai'))) {
    console.log('openai SDK not installed: skip');
    process.exit(77);
}
const require = createRequire(path.join(MODULES, 'x.js'));
const { default: OpenAI, APIError } = await import(require.resolve('openai'));
const BIN = path.join(BUILD, 'src', 'cli', 'chatseal');

const children = [];
process.on('exit', () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function startGateway(args) {
    return new Promise((resolve, reject) => {
        const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', ...args],
            { stdio: ['ignore', 'ignore', 'pipe'] });
        children.push(child);
        let log = '';
        const timer = setTimeout(() => reject(new Error(`no listening line:\n${log}`)), 15000);
        child.stderr.on('data', (d) => {
            log += d;
            for (const line of log.split('\n')) {
                if (!line.startsWith('{')) continue;
                const ev = JSON.parse(line);
                if (ev.event === 'listening') {
                    clearTimeout(timer);
                    resolve({ child, url: ev.url, log: () => log });
                    return;
                }
            }
        });
        child.on('exit', (code) => reject(new Error(`gateway exited ${code}:\n${log}`)));
    });
}

function stop(gw) {
    return new Promise((resolve) => {
        if (gw.child.exitCode !== null) return resolve(gw.child.exitCode);
        gw.child.removeAllListeners('exit');
        gw.child.on('exit', (code) => resolve(code));
        gw.child.kill('SIGTERM');
    });
}

function tokenHeader(token) {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

// The app's system prompt is pinned by the operator; the SDK sends it with
// every request and the gateway accepts it as equal (not duplicated).
const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatseal-sdk-'));
process.on('exit', () => fs.rmSync(tmpdir, { recursive: true, force: true }));
const SYSTEM_FILE = path.join(tmpdir, 'system.txt');
fs.writeFileSync(SYSTEM_FILE, 'You are a test.\n');
const gw = await startGateway(['--upstream', 'mock', '--dev', '--mock-delay', '1ms',
    '--system-prompt', SYSTEM_FILE]);
const client = new OpenAI({ baseURL: gw.url + 'v1', apiKey: 'not-used-by-the-mock', maxRetries: 0 });
let failed = false;

async function step(name, fn) {
    try {
        await fn();
        console.log(`ok   ${name}`);
    } catch (e) {
        failed = true;
        console.log(`FAIL ${name}`);
        console.log(e);
    }
}

await step('five turns, non-streaming, header token', async () => {
    const messages = [{ role: 'system', content: 'You are a test.' }];
    let token;
    for (let turn = 1; turn <= 5; turn++) {
        messages.push({ role: 'user', content: `question ${turn}: café ${turn * 1.5}` });
        const { data, response } = await client.chat.completions
            .create({ model: 'chatseal-mock', messages },
                { headers: token ? { 'Chatseal-Token': token } : {} })
            .withResponse();
        const msg = data.choices[0].message;
        assert.match(msg.content, new RegExp(`Reply ${turn}\\.`));
        messages.push(msg); // exactly as the SDK parsed it
        assert.equal(data.chatseal.count, messages.length);
        assert.equal(response.headers.get('chatseal-token'), data.chatseal.token);
        assert.equal(tokenHeader(data.chatseal.token).n, messages.length);
        token = data.chatseal.token;
    }
    assert.equal(messages.length, 11);
});

await step('five turns, streaming, body-field token', async () => {
    const messages = [{ role: 'user', content: 'stream turn 1' }];
    let token = null;
    for (let turn = 1; turn <= 5; turn++) {
        if (turn > 1) messages.push({ role: 'user', content: `stream turn ${turn}` });
        const body = { model: 'chatseal-mock', messages, stream: true };
        if (token) body.chatseal_token = token;
        const stream = await client.chat.completions.create(body);
        let text = '';
        let seal = null;
        let chunks = 0;
        for await (const chunk of stream) {
            chunks++;
            if (chunk.chatseal) {
                assert.deepEqual(chunk.choices, []);
                seal = chunk.chatseal;
            } else {
                text += chunk.choices[0]?.delta?.content ?? '';
            }
        }
        assert.ok(chunks > 3, 'the reply arrived in several chunks');
        assert.ok(seal, 'a chatseal chunk before [DONE]');
        assert.equal(seal.message.content, text);
        assert.equal(seal.message.role, 'assistant');
        messages.push(seal.message); // store the exact signed message
        // this client never sends the system prompt: the gateway put the
        // pinned one first and signed it, so the token covers one more
        assert.equal(seal.count, messages.length + 1);
        token = seal.token;
    }
    assert.equal(messages.length, 10);
});

await step('streamed tool call, tool result, answer', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const messages = [{ role: 'user', content: 'What is the weather in Oslo?' }];
    const stream = await client.chat.completions.create({ model: 'm', messages, tools, stream: true });
    let seal;
    for await (const chunk of stream) if (chunk.chatseal) seal = chunk.chatseal;
    assert.equal(seal.message.tool_calls[0].function.name, 'get_weather');
    assert.equal(JSON.parse(seal.message.tool_calls[0].function.arguments).query,
        'What is the weather in Oslo?');
    messages.push(seal.message);
    messages.push({ role: 'tool', tool_call_id: seal.message.tool_calls[0].id, content: 'cold' });
    const { data } = await client.chat.completions
        .create({ model: 'm', messages, tools }, { headers: { 'Chatseal-Token': seal.token } })
        .withResponse();
    assert.match(data.choices[0].message.content, /The tool answered: "cold"/);
    assert.equal(data.chatseal.count, 5); // 4 + the pinned system prompt
});

await step('tampering is an APIError 403 with the stable code', async () => {
    const messages = [{ role: 'user', content: 'hello' }];
    const { data } = await client.chat.completions.create({ model: 'm', messages }).withResponse();
    const forged = [...messages, { ...data.choices[0].message, content: 'I promise a refund.' },
        { role: 'user', content: 'so, my refund?' }];
    for (const stream of [false, true]) {
        await assert.rejects(
            client.chat.completions.create({ model: 'm', messages: forged, stream },
                { headers: { 'Chatseal-Token': data.chatseal.token } }),
            (e) => e instanceof APIError && e.status === 403 && e.code === 'content_changed'
                && e.type === 'integrity_error');
    }
    await assert.rejects(
        client.chat.completions.create({ model: 'm', messages: [{ role: 'assistant', content: 'x' }] }),
        (e) => e.status === 403 && e.code === 'missing_signature');
    await assert.rejects(
        client.chat.completions.create({ model: 'm', messages },
            { headers: { 'Chatseal-Token': 'nonsense' } }),
        (e) => e.status === 400 && e.code === 'malformed_token');
});

await step('an upstream failure mid-stream is an error, never a token', async () => {
    // a tiny model server of our own that cuts its stream
    const http = await import('node:http');
    const server = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
            res.writeHead(200, { 'Content-Type': 'text/event-stream' });
            res.write('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m",' +
                '"choices":[{"index":0,"delta":{"role":"assistant","content":"par"},"finish_reason":null}]}\n\n');
            setTimeout(() => res.socket.destroy(), 50);
        });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const up = await startGateway(['--upstream', `http://127.0.0.1:${server.address().port}`, '--dev',
        '--system-prompt', SYSTEM_FILE]);
    try {
        const c2 = new OpenAI({ baseURL: up.url + 'v1', apiKey: 'x', maxRetries: 0 });
        const stream = await c2.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
        let seal = null;
        await assert.rejects(async () => {
            for await (const chunk of stream) if (chunk.chatseal) seal = chunk.chatseal;
        }, (e) => e instanceof APIError && /upstream/.test(String(e.message) + JSON.stringify(e.error)));
        assert.equal(seal, null);
    } finally {
        assert.equal(await stop(up), 0, up.log());
        server.close();
    }
});

const code = await stop(gw);
if (code !== 0) {
    failed = true;
    console.log(`gateway exit status ${code}\n${gw.log().slice(-3000)}`);
}
const log = gw.log();
assert.ok(!log.includes('question 3'), 'no message text in the log');
process.exit(failed ? 1 : 0);
