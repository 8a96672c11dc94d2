// chatseal -- a `fetch` for LLM SDKs that carries chatseal tokens, for every
// API the gateway speaks: OpenAI Chat Completions (/v1/chat/completions),
// OpenAI Responses (/v1/responses), Anthropic Messages (/v1/messages) and
// Ollama's chat (/api/chat).
//
// Design: every SDK apps use (`openai`, the Vercel AI SDK's providers,
// LangChain, `@anthropic-ai/sdk`, `ollama`) accepts a custom `fetch`.  That
// is the one place that sees every request of a conversation -- including
// the steps of tool loops (`runTools`, `stopWhen`, agents), which SDKs send
// with the headers of the first call -- and every response before the SDK
// parses it.  So the helper works there and nowhere else:
//
//   - before a POST to one of the four paths it adds `Chatseal-Token: <newest
//     token of this conversation>` (and the conversation id header when one
//     is configured), unless the app set the header itself;
//   - after a 2xx reply it stores the new token.  Every API delivers it the
//     same way: a top-level `chatseal` member {token, count, kid, ...} in the
//     JSON body, or in one JSON value of the stream -- Chat Completions: the
//     last chunk (empty `choices`, `chatseal.message`); Responses: the
//     `response.chatseal` event after `response.completed` (its data typed
//     "keepalive", so SDKs pass it on as a known event); Anthropic: the
//     `message_stop` event; Ollama (NDJSON): the `"done": true` line.  So one
//     reader serves all: any SSE event or NDJSON line whose JSON has a
//     well-formed top-level `chatseal` member; the last one wins.  The
//     `Chatseal-Token` response header is only a fallback: the gateway omits
//     it for tokens over 8 KiB and for streams.
//   - a stream is tee'd, never buffered: each piece is handed to the SDK as
//     it arrives, byte for byte, and parsed on the side.  The token is stored
//     *before* the piece that carries it is handed on, so by the time the SDK
//     has seen the end of the reply (and may send the next step of a tool
//     loop) the newest token is in the store.  This matters for SDKs that
//     drop the carrier (LangChain drops chunks with empty `choices`; the
//     openai SDK has no type for `response.chatseal`; ollama-js stops reading
//     at the first `done` line): the app never sees it, the helper does.
//   - request bodies are never read or changed: what the SDK sends is what
//     the gateway verifies.
//
// Tokens live in a store keyed by conversation: the value of the conversation
// header of the request if there is one, else the `conversation` option, else
// "default".  The default store is a Map in memory; anything with
// get/set/delete (sync or async: a Redis client, localStorage) can replace it.
// Failed replies (4xx/5xx) never change the store.

export const TOKEN_HEADER = 'Chatseal-Token';
export const CONVERSATION_HEADER = 'Chatseal-Conversation';
export const DEFAULT_CONVERSATION = 'default';

/** The API paths the helper carries tokens for, by API name. */
export const API_PATHS = Object.freeze({
    chat: '/chat/completions',
    responses: '/v1/responses',
    messages: '/v1/messages',
    ollama: '/api/chat',
});

/** An in-memory token store (one record per conversation key). */
export class MemoryTokenStore {
    constructor() {
        this.map = new Map();
    }
    get(key) {
        return this.map.get(key);
    }
    set(key, record) {
        this.map.set(key, record);
    }
    delete(key) {
        this.map.delete(key);
    }
}

function isObject(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Which API a request URL is for ("chat", "responses", "messages",
 *  "ollama"), by the end of its path; undefined for anything else (model
 *  lists, /v1/messages/count_tokens, an Assistants thread's .../messages).
 *  SDKs add their own prefix (/openai, a proxy path), so only the suffix is
 *  compared -- the gateway's own paths, which every SDK ends with. */
export function apiOf(url) {
    let p;
    try {
        p = new URL(url, 'http://x').pathname.replace(/\/+$/, '');
    } catch {
        return undefined;
    }
    for (const [api, suffix] of Object.entries(API_PATHS)) {
        if (p.endsWith(suffix)) return api;
    }
    return undefined;
}

/** The `chatseal` member of a reply, a stream event or an NDJSON line, if
 *  it is well formed. */
export function chatsealOf(obj) {
    const c = isObject(obj) ? obj.chatseal : undefined;
    if (!isObject(c) || typeof c.token !== 'string' || c.token === '') return undefined;
    if (typeof c.count !== 'number' || typeof c.kid !== 'string') return undefined;
    if ('message' in c && !isObject(c.message)) return undefined;
    return c;
}

/** True for the stream value that carries the token and nothing the app
 *  needs: the last Chat Completions chunk (empty `choices`) and the data of
 *  the Responses `response.chatseal` event (typed "keepalive", which the
 *  openai SDK's stream helper accepts, or "response.chatseal").
 *  (Anthropic's `message_stop` and Ollama's done line carry it too, but are
 *  the API's own end markers.) */
export function isChatsealChunk(chunk) {
    if (chatsealOf(chunk) === undefined) return false;
    if (chunk.type === 'keepalive' || chunk.type === 'response.chatseal') return true;
    return Array.isArray(chunk.choices) && chunk.choices.length === 0;
}

/** The exact Chat Completions message the gateway signed: `chatseal.message`
 *  of a stream's final chunk, or `choices[0].message` of a completion. */
export function signedMessage(obj) {
    const c = chatsealOf(obj);
    if (!c) return undefined;
    if (c.message) return c.message;
    const m = obj.choices?.[0]?.message;
    return isObject(m) ? m : undefined;
}

/** The gateway's `chatseal.output`: what it signed of the reply, in the
 *  API's own shape (Responses, Anthropic Messages, Ollama). */
export function signedOutput(obj) {
    const c = chatsealOf(obj);
    return c && 'output' in c ? c.output : undefined;
}

function recordOf(seal, fallbackMessage) {
    const rec = { token: seal.token, count: seal.count, kid: seal.kid };
    const message = seal.message ?? fallbackMessage;
    if (isObject(message)) rec.message = message;
    if ('output' in seal) rec.output = seal.output;
    return rec;
}

async function sealIn(payload, onSeal) {
    if (!payload.includes('"chatseal"')) return;
    let obj;
    try {
        obj = JSON.parse(payload);
    } catch {
        return;
    }
    const seal = chatsealOf(obj);
    if (seal) await onSeal(seal);
}

// A TransformStream that hands every byte on unchanged and, on the side,
// splits the text into lines (any of CRLF, LF, CR line ends) and gives them
// to `line(text)`; `end()` runs when the stream ends.
function lineTap(line, end) {
    const decoder = new TextDecoder();
    let text = '';
    async function lines(final) {
        for (;;) {
            const m = /\r\n|\r|\n/.exec(text);
            // a lone CR at the end may be the first half of a CRLF
            if (!m || (!final && m[0] === '\r' && m.index === text.length - 1)) break;
            const l = text.slice(0, m.index);
            text = text.slice(m.index + m[0].length);
            await line(l);
        }
        if (final) {
            if (text !== '') await line(text);
            text = '';
            await end();
        }
    }
    return new TransformStream({
        async transform(chunk, controller) {
            text += decoder.decode(chunk, { stream: true });
            await lines(false);
            controller.enqueue(chunk);
        },
        async flush() {
            text += decoder.decode();
            await lines(true);
        },
    });
}

// SSE: "data:" lines joined, an event ends at a blank line (or the end).
// The event name does not matter: every API's token carrier has a
// top-level `chatseal` member in its data.
function sseTap(onSeal) {
    let data = [];
    async function dispatch() {
        const payload = data.join('\n');
        data = [];
        await sealIn(payload, onSeal);
    }
    return lineTap(async (l) => {
        if (l === '') await dispatch();
        else if (l.startsWith('data:')) data.push(l.slice(l[5] === ' ' ? 6 : 5));
    }, dispatch);
}

// NDJSON (Ollama): one JSON value per line.
function ndjsonTap(onSeal) {
    return lineTap((l) => sealIn(l, onSeal), async () => {});
}

/**
 * A fetch that carries chatseal tokens.  Options:
 *   store           token store (default: a new MemoryTokenStore)
 *   conversation    conversation id: a string, or a function returning one;
 *                   sent in the conversation header and used as store key
 *   conversationHeader  its name (default "Chatseal-Conversation")
 *   sendToken       false: never send tokens (conversation header only)
 *   apis            the APIs to carry tokens for (default: all four)
 *   fetch           the underlying fetch (default: globalThis.fetch)
 *   onToken         called with (record, key) after a new token is stored
 */
export function chatsealFetch(options = {}) {
    const store = options.store ?? new MemoryTokenStore();
    const baseFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const convHeader = options.conversationHeader ?? CONVERSATION_HEADER;
    const sendToken = options.sendToken !== false;
    const apis = new Set(options.apis ?? Object.keys(API_PATHS));

    async function save(key, record) {
        await store.set(key, record);
        if (options.onToken) await options.onToken(record, key);
    }

    const wrapped = async function fetch(input, init = {}) {
        const req = typeof Request !== 'undefined' && input instanceof Request ? input : null;
        const url = req ? req.url : String(input);
        const method = (init.method ?? req?.method ?? 'GET').toUpperCase();
        const api = method === 'POST' ? apiOf(url) : undefined;
        if (!api || !apis.has(api)) return baseFetch(input, init);

        const headers = new Headers(init.headers ?? req?.headers ?? undefined);
        let conv = headers.get(convHeader);
        if (!conv && options.conversation !== undefined) {
            conv = typeof options.conversation === 'function'
                ? await options.conversation() : options.conversation;
            if (conv) headers.set(convHeader, conv);
        }
        const key = conv || DEFAULT_CONVERSATION;
        if (sendToken && !headers.has(TOKEN_HEADER)) {
            const rec = await store.get(key);
            if (rec && rec.token) headers.set(TOKEN_HEADER, rec.token);
        }

        const res = await baseFetch(input, { ...init, headers });
        if (!res.ok || !res.body) return res;
        const type = (res.headers.get('content-type') || '').toLowerCase();
        const init2 = { status: res.status, statusText: res.statusText, headers: res.headers };
        const onSeal = (seal) => save(key, recordOf(seal));

        if (type.startsWith('text/event-stream')) {
            return new Response(res.body.pipeThrough(sseTap(onSeal)), init2);
        }
        // Ollama streams by default; its lines come as application/x-ndjson
        if (type.startsWith('application/x-ndjson') || type.startsWith('application/jsonl')) {
            return new Response(res.body.pipeThrough(ndjsonTap(onSeal)), init2);
        }
        const text = await res.text();
        let seal;
        let body;
        try {
            body = JSON.parse(text);
            seal = chatsealOf(body);
        } catch {
            body = undefined;
        }
        if (seal) {
            await save(key, recordOf(seal, api === 'chat' ? body.choices?.[0]?.message : undefined));
        } else if (res.headers.get(TOKEN_HEADER)) {
            await save(key, { token: res.headers.get(TOKEN_HEADER) });
        }
        return new Response(text, init2);
    };
    wrapped.store = store;
    /** The stored record of a conversation (default key without argument). */
    wrapped.current = (conversation) => store.get(conversation || DEFAULT_CONVERSATION);
    /** Forgets a conversation's token: its next request starts fresh. */
    wrapped.reset = (conversation) => store.delete(conversation || DEFAULT_CONVERSATION);
    return wrapped;
}

export default chatsealFetch;
