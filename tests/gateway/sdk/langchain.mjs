// langchain.mjs -- LangChain JS (`@langchain/openai` ChatOpenAI over chat
// completions), as its docs show apps using it: the history is a list of
// LangChain messages (AIMessage as returned, re-encoded by ChatOpenAI on the
// next call), tools bound with bindTools, tool calls run with the tool's
// invoke(toolCall) -> ToolMessage.
//   invoke   bound.invoke(messages)
//   stream   bound.stream(messages), chunks concatenated (LangChain skips
//            chunks whose `choices` is empty: the token chunk never reaches
//            the app)
import { SYSTEM, TURNS, weather, checkReply } from './script.mjs';

export async function make(load) {
    const { ChatOpenAI } = await load('@langchain/openai');
    const { HumanMessage, SystemMessage, AIMessage } = await load('@langchain/core/messages');
    const { tool } = await load('@langchain/core/tools');
    const { z } = await load('zod');

    const llm = (ctx) => new ChatOpenAI({
        model: ctx.model, apiKey: 'sk-test', maxRetries: 0,
        configuration: { baseURL: ctx.baseURL, fetch: ctx.fetch, defaultHeaders: ctx.headers },
    });
    const weatherTool = tool(async (args) => weather(args), {
        name: 'get_weather', description: 'Current weather of a city',
        schema: z.object({ city: z.string() }),
    });

    async function conversation(ctx, streamed) {
        const bound = llm(ctx).bindTools([weatherTool]);
        const messages = [new SystemMessage(SYSTEM)];
        for (let i = 0; i < TURNS.length; i++) {
            messages.push(new HumanMessage(TURNS[i]));
            for (;;) {
                let ai;
                if (streamed) {
                    for await (const chunk of await bound.stream(messages)) ai = ai ? ai.concat(chunk) : chunk;
                } else {
                    ai = await bound.invoke(messages);
                }
                messages.push(ai);
                if (!ai.tool_calls?.length) {
                    checkReply(i, ai.content);
                    break;
                }
                for (const tc of ai.tool_calls) messages.push(await weatherTool.invoke(tc));
            }
        }
        return messages;
    }

    return {
        flows: {
            invoke: (ctx) => conversation(ctx, false),
            stream: (ctx) => conversation(ctx, true),
        },
        system: (t) => new SystemMessage(t),
        user: (t) => new HumanMessage(t),
        assistant: (t) => new AIMessage(t),
        edited: () => new AIMessage('I promise you a full refund.'),
        async send(ctx, messages) {
            return [await llm(ctx).invoke(messages)];
        },
    };
}
