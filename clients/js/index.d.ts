// Type declarations of the chatseal client helper (index.js), written by hand:
// the package has no build step.

/** The APIs the helper carries tokens for. */
export type ChatsealApi = 'chat' | 'responses' | 'messages' | 'ollama';

/** The `chatseal` member of a reply (any API), of a non-streamed body or of
 *  the stream value that carries it. */
export interface ChatsealReply<Output = unknown> {
    /** the new token (cs1....), covering `count` messages */
    token: string;
    /** number of messages the token covers: history + new turns + reply */
    count: number;
    /** id of the key that signed it */
    kid: string;
    /** Responses, Anthropic Messages, Ollama: what was signed of the reply,
     *  in the API's own shape */
    output?: Output;
}

/** An OpenAI chat message as the gateway signed it. */
export interface SignedMessage {
    role: string;
    content?: string | null | unknown[];
    [member: string]: unknown;
}

/** The `chatseal` member of the final stream chunk (empty `choices`). */
export interface ChatsealStreamReply extends ChatsealReply {
    /** the exact assistant message that was signed */
    message: SignedMessage;
}

/** What the store keeps per conversation. */
export interface TokenRecord {
    token: string;
    count?: number;
    kid?: string;
    /** Chat Completions: the signed assistant message of the last reply */
    message?: SignedMessage;
    /** other APIs: `chatseal.output` of the last reply */
    output?: unknown;
}

/** Where tokens are kept; methods may be synchronous or return promises. */
export interface TokenStore {
    get(key: string): TokenRecord | undefined | Promise<TokenRecord | undefined>;
    set(key: string, record: TokenRecord): void | Promise<void>;
    delete(key: string): void | Promise<void> | boolean | Promise<boolean>;
}

export declare class MemoryTokenStore implements TokenStore {
    map: Map<string, TokenRecord>;
    get(key: string): TokenRecord | undefined;
    set(key: string, record: TokenRecord): void;
    delete(key: string): void;
}

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface ChatsealFetchOptions {
    /** token store (default: a new MemoryTokenStore) */
    store?: TokenStore;
    /** conversation id, sent in the conversation header and used as store key */
    conversation?: string | (() => string | Promise<string>);
    /** name of the conversation header (default "Chatseal-Conversation") */
    conversationHeader?: string;
    /** false: never send tokens (conversation header only) */
    sendToken?: boolean;
    /** the APIs to carry tokens for (default: all four) */
    apis?: ChatsealApi[];
    /** the underlying fetch (default: globalThis.fetch) */
    fetch?: FetchLike;
    /** called after a new token is stored */
    onToken?: (record: TokenRecord, conversation: string) => void | Promise<void>;
}

export interface ChatsealFetch extends FetchLike {
    readonly store: TokenStore;
    /** the stored record of a conversation ("default" without argument) */
    current(conversation?: string): TokenRecord | undefined | Promise<TokenRecord | undefined>;
    /** forgets a conversation's token: its next request starts fresh */
    reset(conversation?: string): void | Promise<void> | boolean | Promise<boolean>;
}

export declare const TOKEN_HEADER: 'Chatseal-Token';
export declare const CONVERSATION_HEADER: 'Chatseal-Conversation';
export declare const DEFAULT_CONVERSATION: 'default';

/** The request paths, by API: /chat/completions, /v1/responses,
 *  /v1/messages, /api/chat (compared with the end of the URL's path). */
export declare const API_PATHS: Readonly<Record<ChatsealApi, string>>;

/** A fetch for the openai, ai (@ai-sdk/openai, @ai-sdk/anthropic),
 *  @langchain/openai, @anthropic-ai/sdk and ollama clients that sends the
 *  newest token and keeps the new one (JSON bodies, headers, SSE and NDJSON
 *  streams, which pass through unbuffered). */
export declare function chatsealFetch(options?: ChatsealFetchOptions): ChatsealFetch;
export default chatsealFetch;

/** Which API a URL is for, by the end of its path (undefined: none). */
export declare function apiOf(url: string | URL): ChatsealApi | undefined;
/** The `chatseal` member of a reply, stream event or NDJSON line, if well formed. */
export declare function chatsealOf(obj: unknown): ChatsealReply | ChatsealStreamReply | undefined;
/** True for a stream value that only carries the token: the last Chat
 *  Completions chunk (empty choices) or the data of the Responses
 *  `response.chatseal` event (type "keepalive").  Apps iterating an SDK stream can skip these. */
export declare function isChatsealChunk(chunk: unknown): boolean;
/** Chat Completions: the exact message that was signed (stream:
 *  chatseal.message; else choices[0].message). */
export declare function signedMessage(obj: unknown): SignedMessage | undefined;
/** Responses, Anthropic Messages, Ollama: `chatseal.output`, what was signed
 *  of the reply, in the API's own shape. */
export declare function signedOutput<Output = unknown>(obj: unknown): Output | undefined;

/** The data of the Responses stream event that carries the token
 *  (`event: response.chatseal`, after response.completed). */
export interface ResponsesChatsealEvent {
    type: 'keepalive' | 'response.chatseal';
    sequence_number: number;
    chatseal: ChatsealReply;
}
