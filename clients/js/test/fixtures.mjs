// fixtures.mjs -- synthetic replies of the gateway in each API's wire format,
// shaped as the providers document them (field names, event names, order,
// `ping` and `obfuscation` included) plus the gateway's token carrier:
//   Chat Completions  last chunk with empty `choices` + `chatseal.message`,
//                     then `data: [DONE]`
//   Responses         `event: response.chatseal` after `response.completed`,
//                     its data typed "keepalive" (a type the openai SDK's
//                     stream helper accepts; it throws on unknown ones), no
//                     [DONE] (Responses streams just end)
//   Anthropic         `chatseal` in the data of `event: message_stop`
//   Ollama            `chatseal` on the `"done": true` NDJSON line
// Non-streamed bodies carry a top-level `chatseal` member.  Used by the
// helper's own tests and by the real-SDK tests (sdks.test.mjs), with a fake
// fetch: no gateway, no network.

export const seal = (n, extra = {}) => ({ token: `cs1.tok${n}`, count: n, kid: 'k1', ...extra });

// One SSE event; `name` null for a data-only event.
const ev = (name, data) => (name ? `event: ${name}\n` : '') + `data: ${JSON.stringify(data)}\n\n`;

/* ---- OpenAI Responses ---------------------------------------------------- */

export function responsesBody(text, chatseal) {
    const item = {
        id: 'msg_1', type: 'message', status: 'completed', role: 'assistant',
        content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
    };
    const body = {
        id: 'resp_1', object: 'response', created_at: 1764900000, status: 'completed',
        error: null, incomplete_details: null, instructions: null, model: 'mock',
        output: [item], parallel_tool_calls: true, store: false, temperature: 1,
        tool_choice: 'auto', tools: [], top_p: 1, truncation: 'disabled',
        usage: {
            input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2,
            output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7,
        },
        metadata: {},
    };
    if (chatseal) body.chatseal = { ...chatseal, output: [item] };
    return body;
}

export function responsesStream(text, chatseal) {
    const done = responsesBody(text);
    const item = done.output[0];
    const started = { ...done, status: 'in_progress', output: [], usage: null };
    let n = 0;
    const s = (name, data) => ev(name, { type: name, sequence_number: n++, ...data });
    let out = s('response.created', { response: started }) +
        s('response.in_progress', { response: started }) +
        s('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }) +
        s('response.content_part.added', {
            item_id: 'msg_1', output_index: 0, content_index: 0,
            part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
        });
    for (const piece of text.match(/.{1,3}/gsu)) {
        out += s('response.output_text.delta', {
            item_id: 'msg_1', output_index: 0, content_index: 0, delta: piece, logprobs: [], obfuscation: 'Zx9',
        });
    }
    out += s('response.output_text.done', { item_id: 'msg_1', output_index: 0, content_index: 0, text, logprobs: [] }) +
        s('response.content_part.done', { item_id: 'msg_1', output_index: 0, content_index: 0, part: item.content[0] }) +
        s('response.output_item.done', { output_index: 0, item }) +
        s('response.completed', { response: done });
    if (chatseal) {
        out += ev('response.chatseal', { type: 'keepalive', sequence_number: n++, chatseal: { ...chatseal, output: [item] } });
    }
    return out;
}

/* ---- Anthropic Messages -------------------------------------------------- */

export function messagesBody(text, chatseal) {
    const body = {
        id: 'msg_01', type: 'message', role: 'assistant', model: 'mock',
        content: [{ type: 'text', text }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 2 },
    };
    if (chatseal) body.chatseal = { ...chatseal, output: { role: 'assistant', content: body.content } };
    return body;
}

export function messagesStream(text, chatseal) {
    const msg = { ...messagesBody(text), content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } };
    let out = ev('message_start', { type: 'message_start', message: msg }) +
        ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
        ev('ping', { type: 'ping' });
    for (const piece of text.match(/.{1,3}/gsu)) {
        out += ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
    }
    out += ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
        ev('message_delta', {
            type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
            usage: { output_tokens: 2 },
        });
    const stop = { type: 'message_stop' };
    if (chatseal) stop.chatseal = { ...chatseal, output: { role: 'assistant', content: [{ type: 'text', text }] } };
    return out + ev('message_stop', stop);
}

/* ---- Ollama /api/chat ------------------------------------------------------ */

const OLLAMA_AT = '2026-12-05T07:00:00.000000Z';

export function ollamaBody(text, chatseal) {
    const body = {
        model: 'mock', created_at: OLLAMA_AT, message: { role: 'assistant', content: text },
        done_reason: 'stop', done: true, total_duration: 1000, load_duration: 10,
        prompt_eval_count: 5, prompt_eval_duration: 100, eval_count: 2, eval_duration: 200,
    };
    if (chatseal) body.chatseal = { ...chatseal, output: { role: 'assistant', content: text } };
    return body;
}

export function ollamaStream(text, chatseal) {
    let out = '';
    for (const piece of text.match(/.{1,3}/gsu)) {
        out += JSON.stringify({ model: 'mock', created_at: OLLAMA_AT, message: { role: 'assistant', content: piece }, done: false }) + '\n';
    }
    const last = ollamaBody('', chatseal);
    if (chatseal) last.chatseal.output.content = text;
    return out + JSON.stringify(last) + '\n';
}

/* ---- Chat Completions ---------------------------------------------------- */

export function chatStream(text, chatseal) {
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1764900000, model: 'mock' };
    let out = ev(null, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    out += ev(null, { ...base, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] });
    out += ev(null, { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    if (chatseal) {
        out += ev(null, { ...base, choices: [], chatseal: { ...chatseal, message: { role: 'assistant', content: text } } });
    }
    return out + 'data: [DONE]\n\n';
}

/* ---- responses ------------------------------------------------------------- */

// A streamed Response whose body arrives in pieces of `size` bytes (cutting
// through multi-byte characters and line ends alike).
export function streamed(text, type, size = 7) {
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream({
        start(c) {
            for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
            c.close();
        },
    });
    return new Response(body, { status: 200, headers: { 'content-type': type } });
}

export function json(obj, status = 200, headers = {}) {
    return new Response(JSON.stringify(obj), {
        status, headers: { 'content-type': 'application/json', ...headers },
    });
}

// A fake fetch: records each call (url, method, headers, body), answers from
// a script (a Response, or a function of the call returning one).
export function fakeFetch(answers) {
    const calls = [];
    const f = async (input, init = {}) => {
        const req = input instanceof Request ? input : null;
        const call = {
            url: req ? req.url : String(input),
            method: init.method ?? req?.method,
            headers: new Headers(init.headers ?? req?.headers),
            body: typeof init.body === 'string' ? init.body : null,
        };
        calls.push(call);
        const a = answers.shift();
        if (!a) throw new Error(`fakeFetch: no answer scripted for ${call.url}`);
        return typeof a === 'function' ? a(call) : a;
    };
    f.calls = calls;
    return f;
}
