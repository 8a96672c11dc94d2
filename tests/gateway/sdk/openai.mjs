// openai.mjs -- the official `openai` npm package, driven as apps use it:
//   create       chat.completions.create, non-streamed; the app appends
//                choices[0].message as parsed and runs the tool itself
//   create-stream  create({stream: true, stream_options.include_usage}); the
//                app assembles the message from the deltas (content, tool
//                calls merged by index), as in the SDK's README
//   stream-helper  chat.completions.stream() + finalChatCompletion(): the
//                message gains `parsed: null`, `refusal: null`
//   run-tools    chat.completions.runTools(): the SDK's own tool loop, every
//                step sent with the options of the first call
import { SYSTEM, TURNS, weather, checkReply, WEATHER_SCHEMA } from './script.mjs';

export async function make(load) {
    const { default: OpenAI } = await load('openai');
    const client = (ctx) => new OpenAI({
        baseURL: ctx.baseURL, apiKey: 'sk-test', maxRetries: 0, fetch: ctx.fetch,
        defaultHeaders: ctx.headers,
    });
    const tools = [{
        type: 'function',
        function: { name: 'get_weather', description: 'Current weather of a city', parameters: WEATHER_SCHEMA },
    }];

    // one turn of an app that runs tools itself; `ask` returns the message
    async function manualTurns(ctx, ask) {
        const messages = [{ role: 'system', content: SYSTEM }];
        for (let i = 0; i < TURNS.length; i++) {
            messages.push({ role: 'user', content: TURNS[i] });
            for (;;) {
                const msg = await ask(messages);
                messages.push(msg);
                if (!msg.tool_calls?.length) {
                    checkReply(i, msg.content);
                    break;
                }
                for (const tc of msg.tool_calls) {
                    messages.push({ role: 'tool', tool_call_id: tc.id,
                        content: weather(JSON.parse(tc.function.arguments)) });
                }
            }
        }
        return messages;
    }

    const flows = {
        async create(ctx) {
            const c = client(ctx);
            return manualTurns(ctx, async (messages) =>
                (await c.chat.completions.create({ model: ctx.model, messages, tools })).choices[0].message);
        },
        async 'create-stream'(ctx) {
            const c = client(ctx);
            return manualTurns(ctx, async (messages) => {
                const stream = await c.chat.completions.create({
                    model: ctx.model, messages, tools, stream: true,
                    stream_options: { include_usage: true },
                });
                let content = '';
                const calls = [];
                for await (const chunk of stream) {
                    const d = chunk.choices[0]?.delta;
                    if (!d) continue;
                    if (d.content) content += d.content;
                    for (const t of d.tool_calls ?? []) {
                        const e = (calls[t.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
                        if (t.id) e.id = t.id;
                        if (t.function?.name) e.function.name += t.function.name;
                        if (t.function?.arguments) e.function.arguments += t.function.arguments;
                    }
                }
                const msg = { role: 'assistant', content: content || null };
                if (calls.length) msg.tool_calls = calls;
                return msg;
            });
        },
        async 'stream-helper'(ctx) {
            const c = client(ctx);
            return manualTurns(ctx, async (messages) => {
                const runner = c.chat.completions.stream({ model: ctx.model, messages, tools });
                return (await runner.finalChatCompletion()).choices[0].message;
            });
        },
        async 'run-tools'(ctx) {
            const c = client(ctx);
            let messages = [{ role: 'system', content: SYSTEM }];
            const runTools = [{
                type: 'function',
                function: {
                    name: 'get_weather', description: 'Current weather of a city',
                    parameters: WEATHER_SCHEMA, function: weather, parse: JSON.parse,
                },
            }];
            for (let i = 0; i < TURNS.length; i++) {
                messages.push({ role: 'user', content: TURNS[i] });
                const runner = c.chat.completions.runTools({ model: ctx.model, messages, tools: runTools });
                checkReply(i, await runner.finalContent());
                // the runner's history: the input messages, then what it added
                messages = [...runner.messages];
            }
            return messages;
        },
    };

    return {
        flows,
        system: (t) => ({ role: 'system', content: t }),
        user: (t) => ({ role: 'user', content: t }),
        assistant: (t) => ({ role: 'assistant', content: t }),
        edited: (m) => ({ ...m, content: 'I promise you a full refund.' }),
        async send(ctx, messages) {
            const r = await client(ctx).chat.completions.create({ model: ctx.model, messages });
            return [r.choices[0].message];
        },
    };
}
