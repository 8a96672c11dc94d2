/*
 * explain.js -- the gateway's stable error codes, in plain words.
 *
 * The gateway answers a refused request with
 * {"error":{"message","type","code"}}; the code is stable (include/chatseal.h,
 * chatseal_error_name), the message is for developers.  A person watching the
 * demo needs to know what happened to *their* conversation, so each code gets a
 * short title and one or two sentences.  "tamper" codes mean the history or
 * token was changed; "request" codes mean the request itself was unusable;
 * "service" codes mean the gateway or the model had a problem and nothing
 * about the conversation is wrong.  Unknown codes fall back to a generic text
 * that still shows the code.
 */
(function () {
    'use strict';

    var T = 'tamper', R = 'request', S = 'service';
    var CODES = {
        missing_signature: [T, 'The token is missing',
            'The history already contains replies, but no token came with it. The gateway only accepts replies it signed itself, so it refused the whole conversation.'],
        malformed_token: [T, 'The token is damaged',
            'The token is not a valid chatseal token: it was cut short, mistyped or made up.'],
        unsupported_version: [T, 'The token has an unknown format',
            'The token claims a format version this gateway does not understand.'],
        wrong_token_type: [T, 'Wrong kind of token',
            'This token was made for something else (for example, for application state), not for a conversation.'],
        unknown_key: [T, 'Signed with a key this gateway does not have',
            'The token was signed with a key the gateway does not know: it comes from another server, or from a key that was removed or replaced (a gateway started with --dev gets a new key each time it starts).'],
        expired: [T, 'The token has expired',
            'The signature is too old: its expiry time has passed. Start a new conversation.'],
        not_yet_valid: [T, 'The token is dated in the future',
            'The token says it was made later than now. The clocks disagree, or the token was forged.'],
        binding_mismatch: [T, 'The token belongs to another conversation',
            'This token was issued for a different conversation (or user). A signed history cannot be moved from one conversation to another.'],
        invalid_signature: [T, 'The signature does not match',
            'The history or the token was changed after the gateway signed it. The gateway cannot tell exactly what was changed, only that it was.'],
        content_changed: [T, 'A message was edited',
            'The text of a message is no longer what the gateway signed. Someone changed what was said.'],
        role_changed: [T, 'A message changed speaker',
            'A message now has a different role than when it was signed: for example a user message posing as the assistant.'],
        message_inserted: [T, 'A message was slipped in',
            'A message that the gateway never signed was inserted into the middle of the history.'],
        message_deleted: [T, 'A message was deleted',
            'A signed message is missing from the middle of the history.'],
        truncated: [T, 'The end of the history was cut off',
            'The latest signed messages were removed (and anything new was added after the cut).'],
        reordered: [T, 'Messages were shuffled',
            'All signed messages are there, but in a different order than they were signed.'],
        count_mismatch: [T, 'Extra messages that the token does not cover',
            'The history holds a different number of messages than the token covers, and the gateway does not accept the difference.'],
        role_not_allowed: [T, 'A fake turn was added',
            'After the signed part of the history, only new user (or tool) messages are allowed. Something else – such as a made-up assistant reply – was added there.'],
        stale_token: [T, 'An old token was replayed',
            'The gateway has already seen a newer token for this conversation; this one is an earlier copy.'],
        member_not_allowed: [T, 'A new message carries hidden fields',
            'A new message has fields besides its text (for example a made-up tool call) that the model would read as something else. The gateway refused it before the model saw it.'],
        parameter_not_allowed: [R, 'The request has an unknown setting',
            'The request carries a setting the gateway does not pass on to the model (some of them can rewrite the whole prompt).'],
        control_token: [R, 'The message contains special model markers',
            'The text contains markers such as <|im_start|> or [INST] that the model could take for the start of another turn.'],
        rate_limited: [S, 'Too many requests from here',
            'This address has too many requests or connections open at once. Try again in a moment.'],
        malformed_json: [R, 'The request was not valid JSON',
            'The gateway could not read the request body.'],
        duplicate_key: [R, 'Ambiguous request',
            'A JSON object in the request has the same field twice, which different programs would read differently.'],
        invalid_utf8: [R, 'Ambiguous request', 'The request contains bytes that are not valid UTF-8 text.'],
        lone_surrogate: [R, 'Ambiguous request', 'The request contains a broken Unicode escape.'],
        control_character: [R, 'Ambiguous request', 'The request contains a raw control character inside a string.'],
        too_deep: [R, 'The request is nested too deeply', 'The request has too many nested levels.'],
        invalid_number: [R, 'The request has an invalid number', 'A number in the request is out of range.'],
        trailing_data: [R, 'The request has extra data', 'Something follows the JSON body.'],
        too_large: [R, 'The request is too large', 'The conversation has grown beyond the gateway’s size limit. Start a new conversation.'],
        too_many_messages: [R, 'Too many messages', 'The conversation has more messages than the gateway accepts. Start a new conversation.'],
        invalid_message: [R, 'A message is not valid', 'Every message must be an object with a text role.'],
        invalid_request: [R, 'Not a chat request', 'The request does not have the shape of a chat completion request.'],
        invalid_argument: [R, 'Invalid request', 'The gateway refused a value in the request.'],
        not_found: [R, 'Not found', 'The gateway has no such endpoint.'],
        method_not_allowed: [R, 'Method not allowed', 'The gateway does not accept this kind of request here.'],
        unsupported_media_type: [R, 'Wrong content type', 'The request body must be JSON.'],
        timeout: [S, 'The request took too long', 'The gateway stopped waiting for the request.'],
        overloaded: [S, 'The gateway is busy', 'Too many connections right now. Try again in a moment.'],
        upstream_unavailable: [S, 'The model server is unreachable', 'The history was fine, but the gateway could not reach the model server.'],
        upstream_timeout: [S, 'The model did not answer in time', 'The history was fine, but the model server took too long.'],
        upstream_error: [S, 'The model server failed', 'The history was fine, but the model server sent back an error or a broken reply.'],
        shutting_down: [S, 'The gateway is shutting down', 'Try again in a moment.'],
        store_unavailable: [S, 'The conversation store did not answer',
            'The gateway could not check this conversation’s newest state, so it refused rather than guess. Try again in a moment.'],
        conversation_conflict: [S, 'Another reply came first',
            'Another request moved this conversation on at the same moment; this reply was not kept. Reload the conversation and try again.'],
        conversation_exists: [T, 'This conversation already has a history',
            'A conversation cannot be started over under an id that is already in use. Start a new conversation.'],
        no_key: [S, 'The gateway has no key', 'The gateway is not configured with a signing key.'],
        invalid_key: [S, 'The gateway’s key is misconfigured', 'A key in the gateway’s key ring cannot be read.'],
        weak_key: [S, 'The gateway’s key is too short', 'A key in the gateway’s key ring is shorter than 32 bytes.'],
        duplicate_kid: [S, 'The gateway’s key ring is misconfigured', 'Two keys in the gateway’s key ring have the same id.'],
        crypto_error: [S, 'Internal error', 'The gateway had an internal error.'],
        out_of_memory: [S, 'Internal error', 'The gateway ran out of memory.'],
        io_error: [S, 'Internal error', 'The gateway had an input/output error.']
    };

    /* Errors the page itself detects (not gateway codes). */
    var LOCAL = {
        network: [S, 'Could not reach the gateway',
            'The request did not get an answer. Is `chatseal serve` still running?'],
        unsigned_reply: [S, 'The reply was not signed',
            'The gateway answered without a chatseal token, so the reply cannot be kept: the next message would be refused.'],
        bad_reply: [S, 'The reply could not be read',
            'The gateway sent something this page did not understand.']
    };

    function explain(code) {
        var e = Object.prototype.hasOwnProperty.call(CODES, code) ? CODES[code]
              : Object.prototype.hasOwnProperty.call(LOCAL, code) ? LOCAL[code]
              : null;
        if (!e) {
            return {
                kind: 'unknown',
                known: false,
                title: 'The gateway refused the request',
                text: 'The gateway gave a reason code this page does not know. Its own message is shown below.'
            };
        }
        return { kind: e[0], known: true, title: e[1], text: e[2] };
    }

    window.ChatsealExplain = { explain: explain, codes: Object.keys(CODES) };
})();
