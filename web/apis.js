/*
 * apis.js -- the four wire protocols the chat page can speak through the
 * gateway: OpenAI Chat Completions, OpenAI Responses, Anthropic Messages and
 * Ollama's chat.  For each: where to send, the request body built from the
 * history, and how to read the reply -- a JSON body or a stream (SSE with
 * named events, or Ollama's NDJSON lines) -- into the token and the history
 * entries to append.
 *
 * The page keeps the history in the API's own shape (a user turn is
 * {"role":"user","content":"..."} in all four) and appends the reply the way
 * the API's own SDK carries it forward, because that is what the gateway's
 * adapter is built to verify: Chat Completions: the message the gateway
 * reports as signed (chatseal.message: there is no other whole copy in a
 * stream); Responses: the output items of the reply (`response.completed`
 * in a stream); Anthropic: {"role":"assistant","content":blocks}, the blocks
 * assembled from the stream as @anthropic-ai/sdk does; Ollama: the reply
 * message, its streamed pieces joined as ollama-js users do.
 *
 * The token arrives the same way in all four (a top-level "chatseal" member
 * of the JSON body, or of the stream value that ends the reply:
 * Chat Completions' last chunk, Responses' `response.chatseal` event,
 * Anthropic's `message_stop`, Ollama's `"done": true` line).  No token, no
 * history change: the caller shows why.
 *
 * Errors come in each API's shape (OpenAI {"error":{message,type,code}},
 * Anthropic {"type":"error","error":{type,message}} plus the gateway's code,
 * Ollama {"error":"message"} plus code); errorFrom reads them all.
 */
(function () {
    'use strict';

    class GatewayError extends Error {
        constructor(code, message, status, report) {
            super(message);
            this.code = code;
            this.status = status;
            this.report = report || null;
        }
    }

    const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
    const str = (...vs) => vs.find((v) => typeof v === 'string' && v) || '';

    function errorFrom(obj, status) {
        const o = isObj(obj) ? obj : {};
        const inner = isObj(o.error) ? o.error : {};
        const code = str(inner.code, o.code, inner.type) || 'unknown';
        const message = str(inner.message, typeof o.error === 'string' ? o.error : '', o.message);
        const report = [inner.report, o.report].find(isObj) || null;
        return new GatewayError(code, message, status, report);
    }

    /* Each API: label, path, extra headers, body(model, history, stream),
     * json(reply) -> {seal, reply}; stream: 'sse' or 'ndjson', start() -> a
     * fresh accumulator, event(acc, name, value, onDelta) -> true once the
     * reply is whole, end(acc) -> {seal, reply}.  `reply` is the list of
     * history entries to append. */
    const APIS = {
        chat: {
            label: 'Chat Completions', path: '/v1/chat/completions', stream: 'sse',
            body: (model, history, stream) => ({ model, messages: history, stream }),
            json: (o) => ({ seal: o.chatseal, reply: [o.choices && o.choices[0] && o.choices[0].message] }),
            start: () => ({}),
            event(acc, name, o, onDelta) {
                if (o.chatseal) acc.seal = o.chatseal;
                for (const c of Array.isArray(o.choices) ? o.choices : []) {
                    if (c && c.delta && typeof c.delta.content === 'string' && c.delta.content) onDelta(c.delta.content);
                }
            },
            end: (acc) => ({ seal: acc.seal, reply: [acc.seal && acc.seal.message] }),
        },
        responses: {
            label: 'Responses', path: '/v1/responses', stream: 'sse',
            /* store: false -- the history stays here, where the gateway can
             * verify it (it refuses store: true) */
            body: (model, history, stream) => ({ model, input: history, stream, store: false }),
            json: (o) => ({ seal: o.chatseal, reply: o.output }),
            start: () => ({}),
            event(acc, name, o, onDelta) {
                const t = o.type || name;
                if (t === 'response.output_text.delta' && typeof o.delta === 'string') onDelta(o.delta);
                else if (t === 'response.completed' && isObj(o.response)) acc.reply = o.response.output;
                else if (t === 'response.failed') throw errorFrom(o.response, 200);
                /* the token event: `event: response.chatseal`, its data typed
                 * "keepalive" (SDKs accept that type) */
                if (name === 'response.chatseal' || t === 'response.chatseal') acc.seal = o.chatseal;
            },
            end: (acc) => acc,
        },
        messages: {
            label: 'Anthropic Messages', path: '/v1/messages', stream: 'sse',
            headers: { 'anthropic-version': '2023-06-01' },
            body: (model, history, stream) => ({ model, max_tokens: 1024, messages: history, stream }),
            json: (o) => ({ seal: o.chatseal, reply: [{ role: 'assistant', content: o.content }] }),
            start: () => ({ blocks: [] }),
            event(acc, name, o, onDelta) {
                const t = o.type || name;
                const b = acc.blocks[o.index];
                if (t === 'content_block_start') {
                    acc.blocks[o.index] = Object.assign({}, o.content_block);
                } else if (t === 'content_block_delta') {
                    const d = isObj(o.delta) ? o.delta : {};
                    if (!b) throw new GatewayError('bad_reply', 'a stream event for a block that never started');
                    if (d.type === 'text_delta') {
                        b.text = (b.text || '') + d.text;
                        onDelta(d.text);
                    } else if (d.type === 'thinking_delta') {
                        b.thinking = (b.thinking || '') + d.thinking;
                    } else if (d.type === 'signature_delta') {
                        b.signature = d.signature;
                    } else if (d.type === 'input_json_delta') {
                        acc.json = (acc.json || '') + d.partial_json;
                    }
                } else if (t === 'content_block_stop' && b && acc.json !== undefined) {
                    b.input = acc.json ? JSON.parse(acc.json) : {};
                    acc.json = undefined;
                } else if (t === 'message_stop') {
                    acc.seal = o.chatseal;
                    return true;
                }
                return false;
            },
            end: (acc) => ({ seal: acc.seal, reply: [{ role: 'assistant', content: acc.blocks.filter(Boolean) }] }),
        },
        ollama: {
            label: 'Ollama', path: '/api/chat', stream: 'ndjson',
            body: (model, history, stream) => ({ model, messages: history, stream }),
            json: (o) => ({ seal: o.chatseal, reply: [o.message] }),
            start: () => ({ text: '', thinking: '', calls: [] }),
            event(acc, name, o, onDelta) {
                const m = isObj(o.message) ? o.message : {};
                if (typeof m.content === 'string' && m.content) {
                    acc.text += m.content;
                    onDelta(m.content);
                }
                if (typeof m.thinking === 'string') acc.thinking += m.thinking;
                if (Array.isArray(m.tool_calls)) acc.calls.push(...m.tool_calls);
                if (o.done === true) {
                    acc.seal = o.chatseal;
                    return true;
                }
                return false;
            },
            end(acc) {
                const m = { role: 'assistant', content: acc.text };
                if (acc.thinking) m.thinking = acc.thinking;
                if (acc.calls.length) m.tool_calls = acc.calls;
                return { seal: acc.seal, reply: [m] };
            },
        },
    };

    function checkSigned(r, name) {
        const seal = r && r.seal;
        if (!isObj(seal) || typeof seal.token !== 'string' || !seal.token)
            throw new GatewayError('unsigned_reply', 'no chatseal token in the reply');
        const reply = r.reply;
        if (!Array.isArray(reply) || !reply.length || !reply.every(isObj) ||
            (name === 'chat' && typeof reply[0].role !== 'string'))
            throw new GatewayError('bad_reply', 'the reply did not include the signed message');
        return { token: seal.token, count: seal.count, reply };
    }

    /* A stream (SSE or NDJSON), read as it arrives.  Every value goes to the
     * API's event(); an error value ends it with that error. */
    async function readStream(res, api, onDelta) {
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        const acc = api.start();
        let buf = '';
        let data = [];
        let name = '';
        let finished = false;

        const value = (payload, ev) => {
            if (payload === '[DONE]') {
                finished = true;
                return;
            }
            let o;
            try {
                o = JSON.parse(payload);
            } catch (e) {
                throw new GatewayError('bad_reply', 'unreadable stream event');
            }
            if (!isObj(o)) throw new GatewayError('bad_reply', 'unreadable stream event');
            if (o.error || o.type === 'error' || ev === 'error') throw errorFrom(o, res.status);
            if (api.event(acc, ev, o, onDelta)) finished = true;
        };
        const line = (l) => {
            if (l.endsWith('\r')) l = l.slice(0, -1);
            if (api.stream === 'ndjson') {
                if (l.trim()) value(l, '');
                return;
            }
            if (l === '') {
                if (data.length) value(data.join('\n'), name);
                data = [];
                name = '';
                return;
            }
            if (l.startsWith(':')) return;
            const colon = l.indexOf(':');
            const field = colon < 0 ? l : l.slice(0, colon);
            let v = colon < 0 ? '' : l.slice(colon + 1);
            if (v.startsWith(' ')) v = v.slice(1);
            if (field === 'data') data.push(v);
            else if (field === 'event') name = v;
        };

        try {
            while (!finished) {
                const { value: chunk, done } = await reader.read();
                if (done) break;
                buf += decoder.decode(chunk, { stream: true });
                let i;
                while (!finished && (i = buf.indexOf('\n')) >= 0) {
                    line(buf.slice(0, i));
                    buf = buf.slice(i + 1);
                }
            }
            if (!finished) {
                buf += decoder.decode();
                if (buf) line(buf);
                line('');
            }
        } finally {
            reader.cancel().catch(() => {});
        }
        return api.end(acc);
    }

    /* The request for one turn: {path, headers, body}. */
    function request(name, model, history, stream) {
        const api = APIS[name];
        return {
            path: api.path,
            headers: Object.assign({}, api.headers || {}),
            body: JSON.stringify(api.body(model, history, stream)),
        };
    }

    /* A 2xx reply -> {token, count, reply}; throws GatewayError. */
    async function readReply(res, name, onDelta) {
        const api = APIS[name];
        const type = res.headers.get('Content-Type') || '';
        if (/text\/event-stream|ndjson/i.test(type)) return checkSigned(await readStream(res, api, onDelta), name);
        let o;
        try {
            o = await res.json();
        } catch (e) {
            throw new GatewayError('bad_reply', 'reply is not JSON');
        }
        if (!isObj(o)) throw new GatewayError('bad_reply', 'reply is not a JSON object');
        if (o.error || o.type === 'error') throw errorFrom(o, res.status);
        return checkSigned(api.json(o), name);
    }

    window.ChatsealApis = {
        names: Object.keys(APIS),
        label: (name) => APIS[name].label,
        path: (name) => APIS[name].path,
        request, readReply, errorFrom, GatewayError,
    };
})();
