// sealed.mjs -- sealed state (docs/FORMAT.md §4.5) checked from Node.
//
// Python's standard library has no AES, so the sealed half of the reference
// lives here, written from FORMAT.md with node:crypto only:
//
//   Ke    = HMAC(K, frame("chatseal/v1/seal-key"))
//   aad   = frame("chatseal/v1/sealed") || frame(header) || frame(cid) || frame(prn)
//   payload = nonce(12) || AES-256-GCM(Ke, nonce, canon(state), aad) || tag(16)
//
// 1. every sealed token in tests/vectors/vectors.json opens to its recorded
//    canonical bytes, and fails to open once any byte of it is changed;
// 2. a token sealed here (our own nonce) is opened by `chatseal state open`;
//    the same token with a flipped bit, another binding or a forged header is
//    refused with exit status 1;
// 3. a token sealed by `chatseal state seal` opens here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SRC = process.env.CHATSEAL_SRC;
const BUILD = process.env.CHATSEAL_BUILD;
assert.ok(SRC && BUILD, 'CHATSEAL_SRC and CHATSEAL_BUILD must be set');
const CLI = join(BUILD, 'src', 'cli', 'chatseal');

const b64u = (buf) => Buffer.from(buf).toString('base64url');
function unb64u(text) {
  assert.match(text, /^[A-Za-z0-9_-]*$/, 'base64url alphabet');
  const buf = Buffer.from(text, 'base64url');
  assert.equal(b64u(buf), text, 'canonical base64url');
  return buf;
}
function frame(data) {
  const body = Buffer.from(data);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}
function parseRing(text) {
  const ring = new Map();
  for (const line of text.split('\n')) {
    if (line.trim().startsWith('#')) continue;
    for (const entry of line.split(',')) {
      const e = entry.trim();
      if (!e) continue;
      const i = e.indexOf(':');
      ring.set(e.slice(0, i), unb64u(e.slice(i + 1)));
    }
  }
  return ring;
}
const sealKey = (key) => createHmac('sha256', key).update(frame('chatseal/v1/seal-key')).digest();
const aadOf = (header, cid, prn) =>
  Buffer.concat([frame('chatseal/v1/sealed'), frame(header), frame(cid || ''), frame(prn || '')]);

function open(ring, token, cid, prn) {
  assert.ok(token.startsWith('cs1.'));
  const [h, p] = token.slice(4).split('.');
  const header = unb64u(h);
  const payload = unb64u(p);
  const hdr = JSON.parse(header.toString('utf8'));
  assert.equal(hdr.typ, 'sealed');
  const key = ring.get(hdr.kid);
  assert.ok(key, `kid ${hdr.kid} in ring`);
  const d = createDecipheriv('aes-256-gcm', sealKey(key), payload.subarray(0, 12));
  d.setAAD(aadOf(header, cid, prn));
  d.setAuthTag(payload.subarray(payload.length - 16));
  return Buffer.concat([d.update(payload.subarray(12, payload.length - 16)), d.final()]);
}

function seal(ring, kid, header, plain, cid, prn) {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', sealKey(ring.get(kid)), nonce);
  c.setAAD(aadOf(header, cid, prn));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return `cs1.${b64u(header)}.${b64u(Buffer.concat([nonce, body, c.getAuthTag()]))}`;
}

function cli(args, keys, input) {
  return spawnSync(CLI, args, {
    input: input ?? '',
    env: { ...process.env, CHATSEAL_KEYS: keys },
    encoding: 'utf8',
    timeout: 20000,
  });
}

let checks = 0;
function ok(cond, what) {
  assert.ok(cond, what);
  checks++;
}

// 1. the committed vectors
const vectors = JSON.parse(readFileSync(join(SRC, 'tests', 'vectors', 'vectors.json'), 'utf8'));
const sealed = vectors.tokens.filter((v) => v.type === 'sealed');
ok(sealed.length >= 1, 'vectors.json has sealed vectors');
for (const v of sealed) {
  const ring = parseRing(v.keyring);
  const { conversation_id: cid, principal: prn } = v.options;
  const plain = open(ring, v.token, cid, prn);
  ok(plain.toString('utf8') === v.canonical, `${v.name}: opens to the canonical bytes`);
  const [h, p] = v.token.slice(4).split('.');
  ok(unb64u(h).toString('utf8') === v.header, `${v.name}: header bytes`);
  const payload = unb64u(p);
  for (let i = 0; i < payload.length; i += Math.max(1, payload.length >> 3)) {
    const bad = Buffer.from(payload);
    bad[i] ^= 0x01;
    assert.throws(() => open(ring, `cs1.${h}.${b64u(bad)}`, cid, prn), `${v.name}: byte ${i}`);
    checks++;
  }
  assert.throws(() => open(ring, v.token, `${cid || ''}x`, prn), `${v.name}: other cid`);
  checks++;
}

// 2. sealed here, opened by the library
const KEY = b64u(Buffer.from(Array.from({ length: 32 }, (_, i) => 255 - i)));
const KEYS = `node1:${KEY}`;
const ring = parseRing(KEYS);
const NOW = 1767225600;
const value = { z: [1.0, 'caf\u00e9', 1e21], a: { nested: true } };
const canonical = '{"a":{"nested":true},"z":[1,"café",1e+21]}';
// cid "c9" is bound: the header carries bnd (FORMAT.md §4.2), members sorted
const bnd = b64u(createHmac('sha256', ring.get('node1'))
  .update(Buffer.concat([frame('chatseal/v1/bind'), frame('c9'), frame('')])).digest().subarray(0, 16));
const header = Buffer.from(`{"bnd":"${bnd}","iat":${NOW},"kid":"node1","pur":"s","typ":"sealed","v":1}`);
const token = seal(ring, 'node1', header, Buffer.from(canonical), 'c9', '');
let r = cli(['state', 'open', '--token', token, '--now', String(NOW), '--purpose', 's',
  '--conversation', 'c9'], KEYS);
ok(r.status === 0, `library opens a Node-sealed token: ${r.stderr}`);
ok(r.stdout === canonical, `library returns the canonical bytes: ${r.stdout}`);

const [hh, pp] = token.slice(4).split('.');
const flipped = Buffer.from(unb64u(pp));
flipped[flipped.length - 1] ^= 0x80;
const refusals = [
  ['flipped tag bit', `cs1.${hh}.${b64u(flipped)}`, ['--conversation', 'c9', '--purpose', 's']],
  ['other conversation', token, ['--conversation', 'c8', '--purpose', 's']],
  ['no conversation', token, ['--purpose', 's']],
  ['forged header', seal(ring, 'node1', header, Buffer.from(canonical), 'c9', '').replace(
    hh, b64u(Buffer.from(`{"bnd":"${bnd}","iat":${NOW + 1},"kid":"node1","pur":"s","typ":"sealed","v":1}`))),
  ['--conversation', 'c9', '--purpose', 's']],
];
for (const [what, t, args] of refusals) {
  r = cli(['state', 'open', '--token', t, '--now', String(NOW + 5), ...args], KEYS);
  ok(r.status === 1, `${what}: exit ${r.status} ${r.stderr}`);
  ok(r.stdout === '', `${what}: nothing printed`);
  ok(/^chatseal: [a-z_]+:/.test(r.stderr), `${what}: error line ${r.stderr}`);
}
// a tampered ciphertext is a forged token: the code names the failure
r = cli(['state', 'open', '--token', `cs1.${hh}.${b64u(flipped)}`, '--now', String(NOW),
  '--conversation', 'c9', '--purpose', 's'], KEYS);
ok(/^chatseal: invalid_signature:/.test(r.stderr), `tampered sealed token code: ${r.stderr}`);

// 3. sealed by the library, opened here
r = cli(['state', 'seal', '--now', String(NOW), '--principal', 'u1', '--ttl', '60'], KEYS,
  JSON.stringify(value));
ok(r.status === 0, `chatseal state seal: ${r.stderr}`);
const libToken = r.stdout.trim();
ok(r.stdout === `${libToken}\n`, 'token printed with one newline');
ok(open(ring, libToken, '', 'u1').toString('utf8') === canonical, 'Node opens a library token');
const libHeader = JSON.parse(unb64u(libToken.slice(4).split('.')[0]).toString('utf8'));
ok(libHeader.exp === NOW + 60 && libHeader.iat === NOW && libHeader.typ === 'sealed',
  `library header ${JSON.stringify(libHeader)}`);
assert.throws(() => open(ring, libToken, '', 'u2'), 'other principal');
checks++;
// two seals of one value differ (random nonce)
const again = cli(['state', 'seal', '--now', String(NOW), '--principal', 'u1', '--ttl', '60'],
  KEYS, JSON.stringify(value)).stdout.trim();
ok(again !== libToken && again.split('.')[1] === libToken.split('.')[1], 'fresh nonce per seal');

console.log(`sealed.mjs: ${checks} checks passed`);
