// vercel.mjs -- the Vercel AI SDK (`ai`), through both providers apps use
// against OpenAI-compatible servers: @ai-sdk/openai's `.chat()` and
// @ai-sdk/openai-compatible.  Each flow keeps the history as the SDK returns
// it (`response.messages`: ModelMessage objects, re-encoded by the provider
// on the next call) and runs the SDK's own tool loop (`stopWhen:
// stepCountIs(5)`), whose steps all carry the headers of the first call.
//   generate-{openai,compat}  generateText
//   stream-{openai,compat}    streamText (await text, response)
import { SYSTEM, TURNS, weather, checkReply } from './script.mjs';

export async function make(load) {
    const { generateText, streamText, tool, stepCountIs } = await load('ai');
    const { createOpenAI } = await load('@ai-sdk/openai');
    const { createOpenAICompatible } = await load('@ai-sdk/openai-compatible');
    const { z } = await load('zod');

    const model = (ctx, provider) => provider === 'openai'
        ? createOpenAI({ baseURL: ctx.baseURL, apiKey: 'sk-test', fetch: ctx.fetch, headers: ctx.headers })
            .chat(ctx.model)
        : createOpenAICompatible({ name: 'sim', baseURL: ctx.baseURL, apiKey: 'sk-test', fetch: ctx.fetch,
            headers: ctx.headers, includeUsage: true })(ctx.model);
    const tools = {
        get_weather: tool({
            description: 'Current weather of a city',
            inputSchema: z.object({ city: z.string() }),
            execute: async (args) => weather(args),
        }),
    };

    async function conversation(ctx, provider, streamed) {
        const m = model(ctx, provider);
        const messages = []; // the system prompt goes in `system`, as the SDK asks
        for (let i = 0; i < TURNS.length; i++) {
            messages.push({ role: 'user', content: TURNS[i] });
            const opts = { model: m, system: SYSTEM, messages, tools, stopWhen: stepCountIs(5), maxRetries: 0 };
            let text;
            let response;
            if (streamed) {
                let failure;
                const r = streamText({ ...opts, onError: ({ error }) => { failure ??= error; } });
                try {
                    text = await r.text;
                    response = await r.response;
                } catch (e) {
                    throw failure ?? e;
                }
                if (failure) throw failure;
            } else {
                const r = await generateText(opts);
                text = r.text;
                response = r.response;
            }
            checkReply(i, text);
            messages.push(...response.messages);
        }
        return messages;
    }

    return {
        flows: {
            'generate-openai': (ctx) => conversation(ctx, 'openai', false),
            'stream-openai': (ctx) => conversation(ctx, 'openai', true),
            'generate-compat': (ctx) => conversation(ctx, 'compat', false),
            'stream-compat': (ctx) => conversation(ctx, 'compat', true),
        },
        system: (t) => ({ role: 'system', content: t }),
        user: (t) => ({ role: 'user', content: t }),
        assistant: (t) => ({ role: 'assistant', content: t }),
        edited: (m) => ({ ...m, content: [{ type: 'text', text: 'I promise you a full refund.' }] }),
        async send(ctx, messages) {
            const r = await generateText({ model: model(ctx, 'openai'), messages, maxRetries: 0,
                allowSystemInMessages: true });
            return r.response.messages;
        },
    };
}
