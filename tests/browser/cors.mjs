// cors.mjs -- a page of another origin calls the gateway, in headless
// Chromium: what --cors-origins is for.
//
// An "app" page is served on 127.0.0.1:P (origin http://127.0.0.1:P) by a
// small server started here; three gateways run with the built-in mock:
//   open   --cors-origins http://127.0.0.1:P
//   closed no --cors-origins (the default: same origin only)
//   other  --cors-origins for another origin
// From the app page, fetch() must: against `open`, hold a whole
// conversation -- read the new token from the Chatseal-Token response header
// (exposed), send it back in the Chatseal-Token request header (a
// preflighted request), read a stream to its end, and see a refusal's code;
// against `closed` and `other`, fail as the browser refuses the answer.
//
// Exit 0 pass, 1 fail, 77 skip (only when /usr/bin/chromium is missing).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const CHROMIUM = '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
    console.log('SKIP: /usr/bin/chromium is not installed');
    process.exit(77);
}
for (const v of ['CHATSEAL_BUILD', 'CHATSEAL_NODE_MODULES']) {
    if (!process.env[v]) {
        console.error(`cors: ${v} is not set (run through meson test)`);
        process.exit(1);
    }
}
const BIN = path.join(process.env.CHATSEAL_BUILD, 'src/cli/chatseal');
const requireNm = createRequire(path.join(process.env.CHATSEAL_NODE_MODULES, 'index.js'));
const { chromium } = requireNm('playwright-core');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chatseal-cors-'));
const children = [];
process.on('exit', () => {
    for (const c of children) {
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    fs.rmSync(tmp, { recursive: true, force: true });
});

/* `chatseal serve --upstream mock` on 127.0.0.1:0; resolves with its URL. */
function startGateway(extra) {
    const args = ['serve', '--upstream', 'mock', '--dev', '--mock-delay', '0',
        '--listen', '127.0.0.1:0', ...extra];
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" line:\n${output}`)), 10000);
        child.stderr.on('data', (d) => {
            output += d;
            const m = output.match(/"event":"listening".*?"address":"(127\.0\.0\.1:\d+)"/);
            if (m) {
                clearTimeout(timer);
                resolve(`http://${m[1]}`);
            }
        });
        child.on('exit', (code) => reject(new Error(`chatseal serve exited (${code}):\n${output}`)));
    });
}

const app = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>app</title><p>app</p></html>');
});
await new Promise((r) => app.listen(0, '127.0.0.1', r));
const appOrigin = `http://127.0.0.1:${app.address().port}`;

let browser;
let failed = false;
try {
    const open = await startGateway(['--cors-origins', appOrigin]);
    const closed = await startGateway([]);
    const other = await startGateway(['--cors-origins', 'http://127.0.0.1:1']);
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
            '--disable-background-networking', '--disable-component-update',
            '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
    });
    const page = await browser.newPage();
    await page.goto(appOrigin + '/');
    assert.equal(await page.evaluate(() => location.origin), appOrigin);

    // what a chat page does, in the page: two turns, a stream, a refusal
    const got = await page.evaluate(async (gw) => {
        const url = gw + '/v1/chat/completions';
        const post = (messages, token, extra) => fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...(token ? { 'Chatseal-Token': token } : {}) },
            body: JSON.stringify({ model: 'mock', messages, ...extra }),
        });
        const out = {};
        const msgs = [{ role: 'user', content: 'hello' }];
        let r = await post(msgs);
        out.s1 = r.status;
        out.t1 = r.headers.get('Chatseal-Token');
        const b1 = await r.json();
        msgs.push(b1.choices[0].message, { role: 'user', content: 'and now?' });
        r = await post(msgs, out.t1);
        out.s2 = r.status;
        out.t2 = r.headers.get('Chatseal-Token');
        out.id = r.headers.get('X-Request-Id');
        const b2 = await r.json();
        out.count2 = b2.chatseal.count;
        msgs.push(b2.choices[0].message, { role: 'user', content: 'stream it' });
        r = await post(msgs, out.t2, { stream: true });
        out.s3 = r.status;
        out.stream = await r.text();
        const forged = msgs.slice(0, 2).concat([{ role: 'user', content: 'x' }]);
        forged[1] = { ...forged[1], content: 'forged' };
        r = await post(forged, out.t1);
        out.s4 = r.status;
        out.code4 = (await r.json()).error.code;
        return out;
    }, open);
    assert.equal(got.s1, 200);
    assert.match(got.t1 || '', /^cs1\./, 'the page reads the token header (exposed)');
    assert.equal(got.s2, 200, 'the preflighted request with Chatseal-Token went through');
    assert.match(got.t2 || '', /^cs1\./);
    assert.match(got.id || '', /^[0-9a-f]{16}$/);
    assert.equal(got.count2, 4);
    assert.equal(got.s3, 200);
    assert.ok(got.stream.includes('"chatseal":{') && got.stream.trimEnd().endsWith('data: [DONE]'),
        got.stream.slice(-300));
    assert.equal(got.s4, 403);
    assert.equal(got.code4, 'content_changed', 'the page reads the refusal');

    // the browser refuses what is not allowed: no CORS, or another origin
    for (const [name, gw] of [['closed', closed], ['other', other]]) {
        const res = await page.evaluate(async (u) => {
            try {
                const r = await fetch(u + '/v1/chat/completions', {
                    method: 'POST',
                    headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
                });
                return `status ${r.status}`;
            } catch (e) {
                return `refused: ${e.name}`;
            }
        }, gw);
        assert.equal(res, 'refused: TypeError', `${name}: ${res}`);
    }
    console.log('cors: ok (conversation, stream and refusal from another origin; ' +
        'closed and other-origin gateways refused by the browser)');
} catch (e) {
    failed = true;
    console.error('cors: FAIL', e);
} finally {
    if (browser) await browser.close();
    app.close();
    for (const c of children) c.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
