// message_signer.mjs -- the MessageSigner seed ("Message Integrity", Aegis
// SDK), as its document describes it: HMAC-SHA256 through Web Crypto
// (globalThis.crypto.subtle, one imported key), hex signatures;
// sig_1 = HMAC("role:content"), sig_i = HMAC(sig_{i-1} + "|" + "role:content"),
// chainHash = the last one; with assistantOnly (the default) every assistant
// message also carries its own signature HMAC("role:content").
//
// usage: node message_signer.mjs BODY.json...
// Measures "verify": UTF-8 decoding + JSON.parse of the signed conversation
// as it comes back in a request ({messages:[{message, signature}],
// chainHash}) + verifyConversation.
import { readFileSync } from 'node:fs';
import { measure, report, bodyName } from './timing.mjs';

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
const enc = new TextEncoder();
const key = await globalThis.crypto.subtle.importKey(
  'raw', enc.encode(SECRET), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
const assistantOnly = true;

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function hmac(text) {
  return hex(await globalThis.crypto.subtle.sign('HMAC', key, enc.encode(text)));
}

const content = (m) => `${m.role}:${m.content}`;

async function signConversation(messages) {
  let chain = '';
  const out = [];
  for (const m of messages) {
    chain = await hmac(chain ? `${chain}|${content(m)}` : content(m));
    const signature = assistantOnly && m.role !== 'assistant' ? '' : await hmac(content(m));
    out.push({ message: m, signature });
  }
  return { messages: out, chainHash: chain };
}

async function verifyConversation(signed) {
  const tamperedIndices = [];
  let chain = '';
  for (let i = 0; i < signed.messages.length; i++) {
    const { message, signature } = signed.messages[i];
    chain = await hmac(chain ? `${chain}|${content(message)}` : content(message));
    if (assistantOnly && message.role !== 'assistant') continue;
    if ((await hmac(content(message))) !== signature) tamperedIndices.push(i);
  }
  const chainValid = chain === signed.chainHash;
  return { valid: chainValid && tamperedIndices.length === 0, tamperedIndices, chainValid };
}

for (const path of process.argv.slice(2)) {
  const raw = readFileSync(path);
  const body = JSON.parse(raw.toString('utf8'));
  const signed = Buffer.from(JSON.stringify(await signConversation(body.messages)), 'utf8');
  const verify = async () => {
    const r = await verifyConversation(JSON.parse(signed.toString('utf8')));
    if (!r.valid) throw new Error('verify failed');
  };
  await verify();
  report('node-webcrypto-chain', 'verify', bodyName(path), raw.length, await measure(verify));
}
