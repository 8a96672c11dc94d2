// chatseal -- a `fetch` for OpenAI-compatible SDKs that carries chatseal tokens.
//
// Design: every SDK that apps use against an OpenAI-compatible server (the
// `openai` package, the Vercel AI SDK's providers, LangChain's ChatOpenAI)
// accepts a custom `fetch`.  That is the one place that sees every request of
// a conversation -- including the steps of tool loops (`runTools`,
// `stopWhen`, agents), which SDKs send with the headers of the first call --
// and every response before the SDK parses it.  So the helper works there and
// nowhere else:
//
//   - before a POST .../chat/completions it adds `Chatseal-Token: <newest
//     token of this conversation>` (and the conversation id header when one is
//     configured), unless the app set the header itself;
//   - after a 2xx reply it stores the new token: from the JSON body's
//     `chatseal` member {token, count, kid} (the `Chatseal-Token` response
//     header is only a fallback: the gateway omits it for tokens over 8 KiB),
//     or from the SSE event whose JSON has a `chatseal` member {token, count,
//     kid, message}.  The stream is passed to the SDK byte for byte while it
//     is read; the token is stored *before* the chunk that carries it is handed
//     on, so by the time the SDK has seen the end of the stream (and may send
//     the next step of a tool loop) the newest token is in the store.  This
//     matters for LangChain, which drops chunks whose `choices` is empty: the
//     app never sees that chunk, the helper does.
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

/** The `chatseal` member of a completion or chunk, if it is well formed. */
export function chatsealOf(obj) {
    const c = isObject(obj) ? obj.chatseal : undefined;
    if (!isObject(c) || typeof c.token !== 'string' || c.token === '') return undefined;
    if (typeof c.count !== 'number' || typeof c.kid !== 'string') return undefined;
    if ('message' in c && !isObject(c.message)) return undefined;
    return c;
}

/** True for the final stream chunk that carries the token. */
export function isChatsealChunk(chunk) {
    return chatsealOf(chunk) !== undefined && Array.isArray(chunk.choices) &&
        chunk.choices.length === 0;
}

/** The exact message the gateway signed: `chatseal.message` of a stream's
 *  final chunk, or `choices[0].message` of a non-streamed completion. */
export function signedMessage(obj) {
    const c = chatsealOf(obj);
    if (!c) return undefined;
    if (c.message) return c.message;
    const m = obj.choices?.[0]?.message;
    return isObject(m) ? m : undefined;
}

function isChatRequest(url, method) {
    if ((method || 'GET').toUpperCase() !== 'POST') return false;
    try {
        return new URL(url, 'http://x').pathname.endsWith('/chat/completions');
    } catch {
        return false;
    }
}

function recordOf(seal, fallbackMessage) {
    const rec = { token: seal.token, count: seal.count, kid: seal.kid };
    const message = seal.message ?? fallbackMessage;
    if (isObject(message)) rec.message = message;
    return rec;
}

// A TransformStream that hands every byte on unchanged and, on the side,
// parses SSE events (any of CRLF, LF, CR line ends) looking for `chatseal`.
function tapStream(onSeal) {
    const decoder = new TextDecoder();
    let text = '';
    let data = [];
    async function lines(final) {
        for (;;) {
            const m = /\r\n|\r|\n/.exec(text);
            // a lone CR at the end may be the first half of a CRLF
            if (!m || (!final && m[0] === '\r' && m.index === text.length - 1)) break;
            const line = text.slice(0, m.index);
            text = text.slice(m.index + m[0].length);
            if (line === '') {
                await dispatch();
            } else if (line.startsWith('data:')) {
                data.push(line.slice(line[5] === ' ' ? 6 : 5));
            }
        }
        if (final) {
            if (text.startsWith('data:')) data.push(text.slice(text[5] === ' ' ? 6 : 5));
            text = '';
            await dispatch();
        }
    }
    async function dispatch() {
        const payload = data.join('\n');
        data = [];
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

/**
 * A fetch that carries chatseal tokens.  Options:
 *   store           token store (default: a new MemoryTokenStore)
 *   conversation    conversation id: a string, or a function returning one;
 *                   sent in the conversation header and used as store key
 *   conversationHeader  its name (default "Chatseal-Conversation")
 *   sendToken       false: never send tokens (conversation header only)
 *   fetch           the underlying fetch (default: globalThis.fetch)
 *   onToken         called with (record, key) after a new token is stored
 */
export function chatsealFetch(options = {}) {
    const store = options.store ?? new MemoryTokenStore();
    const baseFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const convHeader = options.conversationHeader ?? CONVERSATION_HEADER;
    const sendToken = options.sendToken !== false;

    async function save(key, record) {
        await store.set(key, record);
        if (options.onToken) await options.onToken(record, key);
    }

    const wrapped = async function fetch(input, init = {}) {
        const req = typeof Request !== 'undefined' && input instanceof Request ? input : null;
        const url = req ? req.url : String(input);
        const method = init.method ?? req?.method ?? 'GET';
        if (!isChatRequest(url, method)) return baseFetch(input, init);

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

        if (type.startsWith('text/event-stream')) {
            const tapped = res.body.pipeThrough(tapStream((seal) => save(key, recordOf(seal))));
            return new Response(tapped, init2);
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
            await save(key, recordOf(seal, body.choices?.[0]?.message));
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
