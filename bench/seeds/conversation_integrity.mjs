// conversation_integrity.mjs -- the "Conversation Integrity Implementation
// Plan" seed (Express middleware + ConversationIntegrityService), as its
// document describes it: the history is serialized as "sender:text" pairs
// joined with "|" and signed with HMAC-SHA256 (node:crypto), hex; the
// middleware parses the request body, recomputes the HMAC and compares.
// Here sender/text are the OpenAI body's role/content.
//
// usage: node conversation_integrity.mjs BODY.json...
// Measures "verify": what the middleware does per request once express.json()
// has read the raw body: decode the request bytes (the body plus its
// historySignature) as UTF-8, JSON.parse, serialize, HMAC, compare.  chatseal
// is timed from raw bytes too, so both sides start from the same place.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { measure, report, bodyName } from './timing.mjs';

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

function serialize(history) {
  return history.map((m) => `${m.role}:${m.content}`).join('|');
}

function calculateSignature(history) {
  return createHmac('sha256', SECRET).update(serialize(history)).digest('hex');
}

function verifyHistory(history, signature) {
  return calculateSignature(history) === signature;
}

for (const path of process.argv.slice(2)) {
  const raw = readFileSync(path);
  const body = JSON.parse(raw.toString('utf8'));
  body.historySignature = calculateSignature(body.messages);
  const signed = Buffer.from(JSON.stringify(body), 'utf8');
  const verify = () => {
    const req = JSON.parse(signed.toString('utf8'));
    if (!verifyHistory(req.messages, req.historySignature)) throw new Error('verify failed');
  };
  verify();
  report('node-flat-hmac', 'verify', bodyName(path), raw.length, await measure(verify));
}
