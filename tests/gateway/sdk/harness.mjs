// harness.mjs -- shared plumbing of the SDK tests (tests/gateway/sdk/run.mjs).
//
// Starts what a test needs and stops it at exit, even on failure: the
// realistic upstream simulator (tests/gateway/upstream_sim.py, a Python child
// that prints its port and serves until its stdin closes) and the real
// `chatseal serve --upstream http://127.0.0.1:<sim>` with a key ring of its
// own (`chatseal keygen`, mode 0600, in a temporary directory), both on
// 127.0.0.1 with port 0.  Gives the tests: the simulator's record of what it
// received, the SDK modules resolved from tests/node/node_modules, a uniform
// view of the errors the three SDKs throw ({status, code} of the gateway's
// JSON error), and a step runner that prints one "ok"/"FAIL" line per case
// so a failing registration shows *which* SDK, dialect and turn failed.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const BUILD = process.env.CHATSEAL_BUILD;
export const MODULES = process.env.CHATSEAL_NODE_MODULES;
if (!BUILD || !MODULES) {
    console.error('CHATSEAL_BUILD / CHATSEAL_NODE_MODULES not set (run through meson test)');
    process.exit(1);
}
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SIM = path.join(HERE, '..', 'upstream_sim.py');
const BIN = path.join(BUILD, 'src', 'cli', 'chatseal');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'chatseal-sdk-'));
const require = createRequire(path.join(MODULES, 'x.js'));

/** Imports an npm package from tests/node/node_modules; exits 77 (skip) if absent. */
export async function load(name) {
    let resolved;
    try {
        resolved = require.resolve(name);
    } catch {
        console.log(`${name} not installed (run scripts/bootstrap.sh): skip`);
        process.exit(77);
    }
    return import(resolved);
}

const children = [];
process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    fs.rmSync(TMP, { recursive: true, force: true });
});

export function startSim() {
    return new Promise((resolve, reject) => {
        const child = spawn('python3', [SIM], { stdio: ['pipe', 'pipe', 'inherit'] });
        children.push(child);
        const rl = readline.createInterface({ input: child.stdout });
        rl.once('line', (line) => {
            const { url } = JSON.parse(line);
            resolve({
                child, url,
                async requests() {
                    const r = await fetch(url + '/_sim/requests');
                    return (await r.json()).filter((q) => q.path.startsWith('/v1/chat/completions'));
                },
                async bodies() {
                    return (await this.requests()).map((q) => JSON.parse(q.body));
                },
                async reset() {
                    await fetch(url + '/_sim/reset', { method: 'POST' });
                },
                stop() {
                    return new Promise((res) => {
                        if (child.exitCode !== null) return res(child.exitCode);
                        child.on('exit', (code) => res(code));
                        child.stdin.end();
                    });
                },
            });
        });
        child.on('exit', (code) => reject(new Error(`simulator exited ${code}`)));
    });
}

export function startGateway(args) {
    const keyFile = path.join(TMP, `gw-${children.length}.key`);
    fs.writeFileSync(keyFile, execFileSync(BIN, ['keygen']), { mode: 0o600 });
    return new Promise((resolve, reject) => {
        const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--key-file', keyFile,
            '--quiet', ...args], { stdio: ['ignore', 'ignore', 'pipe'], cwd: TMP });
        children.push(child);
        let log = '';
        const timer = setTimeout(() => reject(new Error(`no listening line:\n${log}`)), 15000);
        child.stderr.on('data', (d) => {
            log += d;
            for (const line of log.split('\n')) {
                if (!line.startsWith('{')) continue;
                let ev;
                try { ev = JSON.parse(line); } catch { continue; }
                if (ev.event === 'listening') {
                    clearTimeout(timer);
                    resolve({
                        child, url: ev.url, log: () => log,
                        stop() {
                            return new Promise((res) => {
                                if (child.exitCode !== null) return res(child.exitCode);
                                child.removeAllListeners('exit');
                                child.on('exit', (code) => res(code));
                                child.kill('SIGTERM');
                            });
                        },
                    });
                    return;
                }
            }
        });
        child.on('exit', (code) => reject(new Error(`gateway exited ${code}:\n${log}`)));
    });
}

/** {status, code} of an error thrown by openai, the AI SDK or LangChain. */
export function errInfo(e) {
    const seen = new Set();
    let status;
    let code;
    const visit = (x, depth) => {
        if (!x || typeof x !== 'object' || seen.has(x) || depth > 5) return;
        seen.add(x);
        status ??= [x.status, x.statusCode].find((s) => typeof s === 'number');
        if (typeof x.code === 'string' && x.code !== 'ERR_INVALID_STATE') code ??= x.code;
        if (typeof x.responseBody === 'string') {
            try { visit(JSON.parse(x.responseBody), depth + 1); } catch { /* not JSON */ }
        }
        for (const k of ['error', 'cause', 'lastError', 'response', 'data']) visit(x[k], depth + 1);
        if (Array.isArray(x.errors)) for (const y of x.errors) visit(y, depth + 1);
    };
    visit(e, 0);
    return { status, code, message: String(e?.message ?? e).slice(0, 300) };
}

let failed = 0;
let passed = 0;
const summary = [];

/** Runs one case; prints "ok NAME" or "FAIL NAME: status code message". */
export async function step(name, fn) {
    try {
        await fn();
        passed++;
        console.log(`ok   ${name}`);
    } catch (e) {
        failed++;
        const i = errInfo(e);
        const line = `FAIL ${name}: ${i.status ?? '-'} ${i.code ?? '-'} ${i.message.split('\n')[0]}`;
        summary.push(line);
        console.log(line);
        if (process.env.SDK_TEST_VERBOSE) console.log(e);
    }
}

export function finish() {
    console.log(`\n${passed} passed, ${failed} failed`);
    for (const s of summary) console.log(s);
    return failed ? 1 : 0;
}

export const DIALECTS = ['openai', 'vllm', 'llamacpp', 'ollama'];

/** A random conversation id (unguessable: 128 bits). */
export function newConversationId() {
    return 'conv-' + crypto.randomUUID();
}

/**
 * With SDK_TEST_VERBOSE=1: a fetch wrapper that explains refusals.  It keeps
 * the last signed history (the messages of the last accepted request plus
 * the signed reply) and, on a 403 naming an index, prints what the SDK sent
 * at that index beside what had been signed there.
 */
export function diagnosticFetch(base = globalThis.fetch) {
    let signed = [];
    return async (input, init = {}) => {
        const res = await base(input, init);
        if (!String(input).endsWith('/chat/completions') || typeof init.body !== 'string') return res;
        const sent = JSON.parse(init.body).messages ?? [];
        const text = await res.text();
        if (res.status === 403) {
            const err = JSON.parse(text).error ?? {};
            const k = err.report?.index ?? err.index;
            if (k === undefined) {
                console.log(`  refused ${err.code}: ${err.message}`);
                return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
            }
            console.log(`  refused ${err.code} at ${k}:\n    sent   ${JSON.stringify(sent[k])}\n` +
                `    signed ${JSON.stringify(signed[k])}`);
        } else if (res.ok) {
            let msg;
            if ((res.headers.get('content-type') || '').includes('event-stream')) {
                for (const line of text.split(/\r?\n/)) {
                    if (line.startsWith('data: {') && line.includes('"chatseal"')) {
                        msg = JSON.parse(line.slice(6)).chatseal?.message;
                    }
                }
            } else {
                msg = JSON.parse(text).choices?.[0]?.message;
            }
            signed = [...sent, msg];
        }
        return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
}
