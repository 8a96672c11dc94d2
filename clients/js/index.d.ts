// Type declarations of the chatseal client helper (index.js), written by hand:
// the package has no build step.

/** The `chatseal` member of a non-streamed completion. */
export interface ChatsealReply {
    /** the new token (cs1....), covering `count` messages */
    token: string;
    /** number of messages the token covers: history + new turns + reply */
    count: number;
    /** id of the key that signed it */
    kid: string;
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
    /** the signed assistant message of the last reply, when known */
    message?: SignedMessage;
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

/** A fetch for the openai, ai and @langchain/openai clients that sends the
 *  newest token and keeps the new one (headers, JSON bodies, SSE streams). */
export declare function chatsealFetch(options?: ChatsealFetchOptions): ChatsealFetch;
export default chatsealFetch;

/** The `chatseal` member of a completion or chunk, if well formed. */
export declare function chatsealOf(obj: unknown): ChatsealReply | ChatsealStreamReply | undefined;
/** True for the final stream chunk that carries the token. */
export declare function isChatsealChunk(chunk: unknown): boolean;
/** The exact message that was signed (stream: chatseal.message; else choices[0].message). */
export declare function signedMessage(obj: unknown): SignedMessage | undefined;
