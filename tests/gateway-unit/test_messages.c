/*
 * test_messages.c -- the Anthropic Messages adapter (src/gateway/api/
 * messages*.c) as pure functions: requests -> internal messages, the
 * forwarded body, the tail rules, replies and the SSE assembly.
 *
 * Every comparison is between canonical JSON texts (RFC 8785, what the
 * library signs), so a test fails on any change of what would be signed or
 * forwarded, and not on member order.  The SDK spellings tested are the
 * ones read in tests/node/node_modules: @anthropic-ai/sdk sends back what
 * the API returned ("citations": null, the thinking signature), the AI SDK
 * (@ai-sdk/anthropic) rebuilds blocks (no citations, system as text blocks,
 * cache_control from provider options).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/adapter.h"
#include "ops/config.h"
#include "policy/policy.h"
#include "tu.h"
#include "upstream/sse.h"

static const cs_adapter *A = &cs_api_messages;

/* Canonical text of v (freed by the caller); aborts on failure. */
static char *canon(json_t *v)
{
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *c = NULL;
    size_t n = 0;
    if (!t || chatseal_canonicalize(t, strlen(t), 0, &c, &n) != CHATSEAL_OK) {
        fprintf(stderr, "canon failed\n");
        exit(99);
    }
    free(t);
    return c;
}

static json_t *load(const char *text)
{
    json_t *v =
        json_loads(text, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        exit(99);
    }
    return v;
}

/* Equal canonical texts (want is JSON text in any member order). */
#define CHECK_JSON(got, want)                                                  \
    do {                                                                       \
        json_t *w_ = load(want);                                               \
        char *g_ = (got) ? canon(got) : strdup("(null)");                      \
        char *c_ = canon(w_);                                                  \
        CHECK(!strcmp(g_, c_), "got  %s\nwant %s", g_, c_);                    \
        free(g_);                                                              \
        free(c_);                                                              \
        json_decref(w_);                                                       \
    } while (0)

/* read_request on body text: the internal request, or NULL with *e. */
static json_t *rd(const char *body, chatseal_error *e)
{
    json_t *b = load(body), *out = NULL;
    char why[300] = "";
    *e = A->read_request(b, &out, why, sizeof why);
    json_decref(b);
    return out;
}

/* The internal messages of a request body (the test expects success). */
static json_t *rd_msgs(const char *body)
{
    chatseal_error e;
    json_t *in = rd(body, &e);
    CHECK(e == CHATSEAL_OK && in, "read_request: %s", chatseal_error_name(e));
    json_t *m = json_incref(json_object_get(in, "messages"));
    json_decref(in);
    return m;
}

static void same_internal(const char *a, const char *b)
{
    json_t *x = rd_msgs(a), *y = rd_msgs(b);
    char *cx = canon(x), *cy = canon(y);
    CHECK(!strcmp(cx, cy), "spellings differ:\n%s\n%s", cx, cy);
    free(cx);
    free(cy);
    json_decref(x);
    json_decref(y);
}

static void spellings(void)
{
    /* a string and a single text block, with null members and
     * cache_control, are one message */
    same_internal(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
        "\"text\":\"hi\",\"citations\":null,\"cache_control\":{\"type\":"
        "\"ephemeral\"}}]}]}");
    /* system as a string and as text blocks (the AI SDK's spelling) */
    same_internal("{\"system\":\"Be brief.\",\"messages\":[{\"role\":\"user\","
                  "\"content\":\"hi\"}]}",
                  "{\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\","
                  "\"cache_control\":{\"type\":\"ephemeral\"}}],\"messages\":"
                  "[{\"role\":\"user\",\"content\":\"hi\"}]}");
    /* an assistant reply as the Anthropic SDK sends it back (as received)
     * and as the AI SDK rebuilds it (no citations, input keys reordered,
     * re-serialized numbers) */
    same_internal(
        "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"thinking\",\"thinking\":\"hmm\",\"signature\":\"c2ln\"},{\"type\":"
        "\"text\",\"text\":\"Let me look.\",\"citations\":null},{\"type\":"
        "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"weather\",\"input\":{"
        "\"city\":\"Paris\",\"days\":2}}]}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"thinking\",\"thinking\":\"hmm\",\"signature\":\"c2ln\"},{\"type\":"
        "\"text\",\"text\":\"Let me look.\"},{\"type\":\"tool_use\",\"id\":"
        "\"toolu_1\",\"name\":\"weather\",\"input\":{\"days\":2.0,\"city\":"
        "\"Paris\"},\"cache_control\":null}]}]}");
    /* the internal form itself */
    json_t *m = rd_msgs(
        "{\"system\":\"S\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"q\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
        "\"thinking\":\"t\",\"signature\":\"sig\"},{\"type\":"
        "\"redacted_thinking\",\"data\":\"opaque\"},{\"type\":\"text\","
        "\"text\":\"a\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":"
        "\"f\",\"input\":{\"b\":1,\"a\":[true]}}]},{\"role\":\"user\","
        "\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
        "\"content\":[{\"type\":\"text\",\"text\":\"42\"}],\"is_error\":"
        "false}]}]}");
    CHECK_JSON(m,
               "[{\"role\":\"system\",\"content\":\"S\"},"
               "{\"role\":\"user\",\"content\":\"q\"},"
               "{\"role\":\"assistant\",\"content\":\"a\",\"tool_calls\":[{"
               "\"id\":\"toolu_1\",\"type\":\"function\",\"function\":{"
               "\"name\":\"f\",\"arguments\":\"{\\\"a\\\":[true],\\\"b\\\":1}"
               "\"}}],\"reasoning\":[{\"type\":\"thinking\",\"thinking\":\"t\","
               "\"signature\":\"sig\"},{\"type\":\"redacted_thinking\","
               "\"data\":\"opaque\"}]},"
               "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
               "\"tool_use_id\":\"toolu_1\",\"content\":\"42\"}]}]");
    json_decref(m);
    /* an empty system says nothing: no system message */
    m = rd_msgs("{\"system\":[],\"messages\":[{\"role\":\"user\",\"content\":"
                "\"q\"}]}");
    CHECK(json_array_size(m) == 1, "empty system made a message");
    json_decref(m);
}

static void invalid_requests(void)
{
    static const char *const bad[] = {
        "{}",
        "{\"messages\":{}}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"id\":\"m\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":3}]}",
        "{\"messages\":[{\"role\":\"user\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"x\"}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
        "\"text\":7}]}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"tool_use\",\"name\":\"f\",\"input\":{}}]}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
        "\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":\"{}\"}]}]}",
        "{\"system\":[{\"type\":\"image\"}],\"messages\":[]}",
        "{\"system\":5,\"messages\":[]}",
        "[]",
        NULL};
    for (size_t i = 0; bad[i]; i++) {
        chatseal_error e;
        json_t *in = rd(bad[i], &e);
        CHECK(!in && e == CHATSEAL_E_INVALID_REQUEST, "case %zu: got %s", i,
              chatseal_error_name(e));
        json_decref(in);
    }
    /* other top-level members stay for the policy to judge */
    chatseal_error e;
    json_t *in =
        rd("{\"model\":\"m\",\"max_tokens\":5,\"chatseal_token\":\"x\","
           "\"messages\":[]}",
           &e);
    CHECK_JSON(in, "{\"model\":\"m\",\"max_tokens\":5,\"chatseal_token\":"
                   "\"x\",\"messages\":[]}");
    json_decref(in);
}

static cs_policy *policy(void)
{
    cs_config c;
    memset(&c, 0, sizeof c);
    c.user_members = "role,content,name";
    c.tool_members = "role,content,tool_call_id";
    c.content_parts = "text,image_url";
    c.control_tokens = "pipe,deepseek,gemma,mistral";
    c.unknown_parameters = "refuse";
    c.fresh_roles = "user";
    char why[200];
    cs_policy *p = cs_policy_new(&c, why, sizeof why);
    if (!p) {
        fprintf(stderr, "policy: %s\n", why);
        exit(99);
    }
    return p;
}

/* write_request over the internal form of body, signed_n signed. */
static json_t *wr(const char *body, size_t signed_n, chatseal_error *e)
{
    cs_policy *p = policy();
    cs_adapter_ctx ctx = {p, 1 << 20};
    json_t *in = rd(body, e), *out = NULL;
    char why[300] = "";
    if (in)
        *e = A->write_request(in, signed_n, &ctx, &out, why, sizeof why);
    json_decref(in);
    cs_policy_free(p);
    return out;
}

static void forwarding(void)
{
    chatseal_error e;
    /* thinking first, then text, then tool_use; system back on top */
    json_t *up =
        wr("{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":\"S\"}],"
           "\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":"
           "\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\","
           "\"name\":\"f\",\"input\":{\"n\":3}},{\"type\":\"text\",\"text\":"
           "\"a\",\"citations\":[{\"type\":\"char_location\"}]},{\"type\":"
           "\"thinking\",\"thinking\":\"t\",\"signature\":\"s\"}]},{\"role\":"
           "\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
           "\"t1\",\"content\":\"ok\",\"is_error\":true}]}]}",
           3, &e);
    CHECK_ERR(e, CHATSEAL_OK);
    CHECK_JSON(up,
               "{\"model\":\"m\",\"system\":\"S\",\"messages\":["
               "{\"role\":\"user\",\"content\":\"q\"},"
               "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
               "\"thinking\":\"t\",\"signature\":\"s\"},{\"type\":\"text\","
               "\"text\":\"a\"},{\"type\":\"tool_use\",\"id\":\"t1\","
               "\"name\":\"f\",\"input\":{\"n\":3}}]},"
               "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
               "\"tool_use_id\":\"t1\",\"content\":\"ok\",\"is_error\":true}]}"
               "]}");
    json_decref(up);
    /* a NUL in a tool input survives (the shared path reads bodies with
     * JSON_ALLOW_NUL) */
    up = wr("{\"messages\":[{\"role\":\"assistant\",\"content\":[{"
            "\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\","
            "\"input\":{\"s\":\"a\\u0000b\"}}]}]}",
            1, &e);
    CHECK_ERR(e, CHATSEAL_OK);
    CHECK_JSON(up, "{\"messages\":[{\"role\":\"assistant\",\"content\":[{"
                   "\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\","
                   "\"input\":{\"s\":\"a\\u0000b\"}}]}]}");
    json_decref(up);
    /* multi-block system stays blocks */
    up = wr("{\"system\":[{\"type\":\"text\",\"text\":\"A\"},{\"type\":"
            "\"text\",\"text\":\"B\"}],\"messages\":[{\"role\":\"user\","
            "\"content\":[{\"type\":\"text\",\"text\":\"x\"},{\"type\":"
            "\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
            "\"image/png\",\"data\":\"AA==\"}}]}]}",
            0, &e);
    CHECK_ERR(e, CHATSEAL_OK);
    CHECK_JSON(up, "{\"system\":[{\"type\":\"text\",\"text\":\"A\"},{\"type\":"
                   "\"text\",\"text\":\"B\"}],\"messages\":[{\"role\":\"user\","
                   "\"content\":[{\"type\":\"text\",\"text\":\"x\"},{\"type\":"
                   "\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
                   "\"image/png\",\"data\":\"AA==\"}}]}]}");
    json_decref(up);
    /* a user message whose content says nothing ("" or []) is forwarded
     * with "content":"" (found by tests/ref/api_differential.py under
     * ASan: that "" leaked once per such message) */
    up = wr("{\"messages\":[{\"role\":\"user\",\"content\":\"\"},"
            "{\"role\":\"assistant\",\"content\":\"a\"},"
            "{\"role\":\"user\",\"content\":[]}]}",
            3, &e);
    CHECK_ERR(e, CHATSEAL_OK);
    CHECK_JSON(up, "{\"messages\":[{\"role\":\"user\",\"content\":\"\"},"
                   "{\"role\":\"assistant\",\"content\":[{\"type\":"
                   "\"text\",\"text\":\"a\"}]},"
                   "{\"role\":\"user\",\"content\":\"\"}]}");
    json_decref(up);
}

static void tail_rules(void)
{
    static const struct {
        const char *body;
        size_t signed_n;
        chatseal_error want;
    } cases[] = {
        /* a client-written tool_use or thinking in a user message */
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
         "\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}]}]}",
         0, CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
         "\"thinking\",\"thinking\":\"x\",\"signature\":\"s\"}]}]}",
         0, CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
         "\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":"
         "\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}]}]}]}",
         0, CHATSEAL_E_MEMBER_NOT_ALLOWED},
        /* an unsigned assistant message (the library refuses it first;
         * the adapter too) */
        {"{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\"}]}", 0,
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        /* control tokens in text, a tool result, a document */
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a<|im_end|>\"}]}", 0,
         CHATSEAL_E_CONTROL_TOKEN},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
         "\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"[INST]\"}]}]}",
         0, CHATSEAL_E_CONTROL_TOKEN},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
         "\"document\",\"source\":{\"type\":\"text\",\"media_type\":"
         "\"text/plain\",\"data\":\"<start_of_turn>\"}}]}]}",
         0, CHATSEAL_E_CONTROL_TOKEN},
        /* the same in the signed part is not judged again */
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"a<|im_end|>\"},"
         "{\"role\":\"user\",\"content\":\"b\"}]}",
         1, CHATSEAL_OK},
        /* allowed input */
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
         "\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":"
         "\"text\",\"text\":\"x\"},{\"type\":\"image\",\"source\":{}}]},"
         "{\"type\":\"text\",\"text\":\"and\"}]}]}",
         0, CHATSEAL_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chatseal_error e;
        json_t *up = wr(cases[i].body, cases[i].signed_n, &e);
        CHECK(e == cases[i].want, "case %zu: got %s, want %s", i,
              chatseal_error_name(e), chatseal_error_name(cases[i].want));
        CHECK((up != NULL) == (e == CHATSEAL_OK), "case %zu: body", i);
        json_decref(up);
    }
}

static const char REPLY[] =
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
    "\"claude\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"Let me "
    "think\",\"signature\":\"EqQBsig==\"},{\"type\":\"text\",\"text\":\"Caf\xc3"
    "\xa9 \xe2\x98\x95 ok\",\"citations\":null},{\"type\":\"tool_use\","
    "\"id\":\"toolu_9\",\"name\":\"get\",\"input\":{\"q\":\"\xf0\x9f\x98\x80"
    "\"}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{"
    "\"input_tokens\":3,\"output_tokens\":4}}";

static const char REPLY_MSG[] =
    "[{\"role\":\"assistant\",\"content\":\"Caf\xc3\xa9 \xe2\x98\x95 ok\","
    "\"tool_calls\":[{\"id\":\"toolu_9\",\"type\":\"function\",\"function\":"
    "{\"name\":\"get\",\"arguments\":\"{\\\"q\\\":\\\"\xf0\x9f\x98\x80\\\"}\""
    "}}],\"reasoning\":[{\"type\":\"thinking\",\"thinking\":\"Let me think\","
    "\"signature\":\"EqQBsig==\"}]}]";

static void replies(void)
{
    json_t *r = load(REPLY), *msgs = NULL;
    char why[200] = "";
    CHECK(A->reply_messages(r, &msgs, why, sizeof why) == 0, "%s", why);
    CHECK_JSON(msgs, REPLY_MSG);
    /* the output member: what the app appends, thinking first */
    json_t *out = msgs ? A->output(msgs) : NULL;
    CHECK_JSON(out, "{\"role\":\"assistant\",\"content\":[{\"type\":"
                    "\"thinking\",\"thinking\":\"Let me think\",\"signature\":"
                    "\"EqQBsig==\"},{\"type\":\"text\",\"text\":\"Caf\xc3\xa9 "
                    "\xe2\x98\x95 ok\"},{\"type\":\"tool_use\",\"id\":"
                    "\"toolu_9\",\"name\":\"get\",\"input\":{\"q\":\"\xf0\x9f"
                    "\x98\x80\"}}]}");
    /* sending the output back is the same internal message */
    if (out) {
        json_t *c = json_object_get(out, "content");
        json_t *again = json_pack("{s:[{s:s,s:O}]}", "messages", "role",
                                  "assistant", "content", c);
        char *t = json_dumps(again, JSON_COMPACT);
        json_t *m2 = rd_msgs(t);
        CHECK_JSON(m2, REPLY_MSG);
        json_decref(m2);
        free(t);
        json_decref(again);
    }
    json_decref(out);
    json_decref(msgs);
    json_decref(r);
    static const char *const bad[] = {
        "{\"type\":\"message\",\"role\":\"user\",\"content\":[]}",
        "{\"type\":\"message\",\"role\":\"assistant\"}",
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\"}]}", NULL};
    for (size_t i = 0; bad[i]; i++) {
        json_t *b = load(bad[i]);
        msgs = NULL;
        CHECK(A->reply_messages(b, &msgs, why, sizeof why) == -1 && !msgs,
              "bad reply %zu accepted", i);
        json_decref(b);
    }
}

/* ------------------------------------------------------------- streams -- */

/* The stream of REPLY, as Anthropic sends it (event name, data). */
static const char *const EVENTS[][2] = {
    {"message_start",
     "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
     "\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\","
     "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{"
     "\"input_tokens\":3,\"output_tokens\":1}}}"},
    {"ping", "{\"type\": \"ping\"}"},
    {"content_block_start",
     "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
     "\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
     "\"thinking_delta\",\"thinking\":\"Let me\"}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
     "\"thinking_delta\",\"thinking\":\" think\"}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
     "\"signature_delta\",\"signature\":\"EqQBsig==\"}}"},
    {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"},
    {"content_block_start",
     "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
     "\"type\":\"text\",\"text\":\"\"}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
     "\"text_delta\",\"text\":\"Caf\xc3\xa9 \"}}"},
    {"ping", "{\"type\": \"ping\"}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
     "\"citations_delta\",\"citation\":{\"type\":\"char_location\"}}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
     "\"text_delta\",\"text\":\"\xe2\x98\x95 ok\"}}"},
    {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}"},
    {"content_block_start",
     "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{"
     "\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"get\",\"input\":"
     "{}}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
     "\"input_json_delta\",\"partial_json\":\"\"}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
     "\"input_json_delta\",\"partial_json\":\"{\\\"q\\\": "
     "\\\"\xf0\x9f\x98\x80\"}}"},
    {"content_block_delta",
     "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
     "\"input_json_delta\",\"partial_json\":\"\\\"}\"}}"},
    {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}"},
    {"message_delta",
     "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
     "\"stop_sequence\":null},\"usage\":{\"output_tokens\":4}}"},
    {"message_stop", "{\"type\":\"message_stop\"}"},
    {NULL, NULL}};

/* Runs events through a fresh stream; returns the verdict of the last one
 * fed (stops at the first non-PASS) and, at FINISH, *msgs. */
static cs_ev run(const char *const ev[][2], size_t max, json_t **msgs)
{
    cs_adapter_ctx ctx = {NULL, max};
    void *st = A->stream_new(&ctx);
    cs_ev r = CS_EV_PASS;
    char why[200];
    for (size_t i = 0; ev[i][1] && r == CS_EV_PASS; i++)
        r = A->stream_event(st, ev[i][0], ev[i][1], strlen(ev[i][1]), why,
                            sizeof why);
    if (msgs)
        *msgs = r == CS_EV_FINISH ? A->stream_messages(st) : NULL;
    if (r == CS_EV_PASS)
        CHECK(!A->stream_complete(st), "a stream without message_stop is "
                                       "complete");
    A->stream_free(st);
    return r;
}

static void stream_whole(void)
{
    json_t *msgs = NULL;
    cs_ev r = run(EVENTS, 1 << 20, &msgs);
    CHECK(r == CS_EV_FINISH, "whole stream: %d", r);
    CHECK_JSON(msgs, REPLY_MSG);
    json_decref(msgs);
    /* the size bound */
    r = run(EVENTS, 20, NULL);
    CHECK(r == CS_EV_FAIL, "over --max-response: %d", r);

    /* a NUL inside the joined input text is not JSON */
    const char *ev[32][2];
    size_t n = 0;
    for (; EVENTS[n][1]; n++) {
        ev[n][0] = EVENTS[n][0];
        ev[n][1] = EVENTS[n][1];
    }
    ev[n][0] = ev[n][1] = NULL;
    ev[16][1] = "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{"
                "\"type\":\"input_json_delta\",\"partial_json\":\"\\u0000"
                "\\\"}\"}}";
    r = run(ev, 1 << 20, NULL);
    CHECK(r == CS_EV_FAIL, "input with a NUL byte: %d", r);
}

/* Every event of ev, fed as SSE bytes cut at every possible place in two
 * frames: the result must not depend on where the network cut. */
typedef struct feed {
    void *st;
    cs_ev last;
    int stop;
} feed;

static int on_event(void *ctx, const char *raw, size_t rawlen,
                    const char *event, const char *data, size_t datalen,
                    int has_data)
{
    (void)raw;
    (void)rawlen;
    (void)has_data;
    feed *f = ctx;
    char why[200];
    f->last = A->stream_event(f->st, event, data, datalen, why, sizeof why);
    return f->last != CS_EV_PASS;
}

static void stream_split_frames(void)
{
    char text[4096];
    size_t n = 0;
    /* text with 2-, 3- and 4-byte characters, one delta each */
    const char *deltas[] = {"Caf\xc3\xa9", " \xe2\x98\x95", " \xf0\x9f\x98\x80",
                            NULL};
    n += (size_t)snprintf(
        text + n, sizeof text - n,
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
        "{\"role\":\"assistant\",\"content\":[]}}\n\nevent: "
        "content_block_start\ndata: {\"type\":\"content_block_start\","
        "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    for (size_t i = 0; deltas[i]; i++)
        n += (size_t)snprintf(
            text + n, sizeof text - n,
            "event: content_block_delta\ndata: {\"type\":"
            "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
            "\"text_delta\",\"text\":\"%s\"}}\n\n",
            deltas[i]);
    n += (size_t)snprintf(
        text + n, sizeof text - n,
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
        "\"index\":0}\n\nevent: message_stop\ndata: {\"type\":"
        "\"message_stop\"}\n\n");
    int bad = 0;
    for (size_t cut = 1; cut < n; cut++) {
        cs_sse sse;
        feed f = {A->stream_new(NULL), CS_EV_PASS, 0};
        if (cs_sse_init(&sse, 1 << 16) != 0 || !f.st) {
            fprintf(stderr, "out of memory\n");
            exit(99);
        }
        cs_sse_feed(&sse, text, cut, on_event, &f);
        if (f.last == CS_EV_PASS)
            cs_sse_feed(&sse, text + cut, n - cut, on_event, &f);
        json_t *msgs = f.last == CS_EV_FINISH ? A->stream_messages(f.st) : NULL;
        json_t *want = load("[{\"role\":\"assistant\",\"content\":\"Caf\xc3"
                            "\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\"}]");
        if (!msgs || !json_equal(msgs, want))
            bad++;
        json_decref(want);
        json_decref(msgs);
        A->stream_free(f.st);
        cs_sse_free(&sse);
    }
    CHECK(bad == 0, "%d of %zu cuts assembled another message", bad, n - 1);
}

/* Each broken stream: its events (prefixed by a message_start) and what
 * the last one must give. */
static void stream_odd(void)
{
    static const char START[] =
        "{\"type\":\"message_start\",\"message\":{\"role\":\"assistant\","
        "\"content\":[]}}";
    static const char TB[] = "{\"type\":\"content_block_start\",\"index\":0,"
                             "\"content_block\":{\"type\":\"text\",\"text\":"
                             "\"\"}}";
    static const struct {
        const char *ev[4][2];
        cs_ev want;
    } cases[] = {
        /* a delta before its block */
        {{{"content_block_delta",
           "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
           "\"type\":\"text_delta\",\"text\":\"x\"}}"}},
         CS_EV_FAIL},
        /* a block at the wrong index */
        {{{"content_block_start",
           "{\"type\":\"content_block_start\",\"index\":1,"
           "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"}},
         CS_EV_FAIL},
        /* a nameless event (the Anthropic SDK drops it, the AI SDK not) */
        {{{"", TB}}, CS_EV_FAIL},
        /* a name that is not the data's type */
        {{{"content_block_stop", TB}}, CS_EV_FAIL},
        /* a nameless ping passes (FORMAT.md 8.2: only ping may be
         * nameless; found by tests/ref/api_differential.py) */
        {{{"", "{\"type\":\"ping\"}"}}, CS_EV_PASS},
        /* `event: ping` carrying a delta: the AI SDK reads the data */
        {{{"content_block_start", TB},
          {"ping", "{\"type\":\"content_block_delta\",\"index\":0,"
                   "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"}},
         CS_EV_FAIL},
        /* a text delta on a tool block, a thinking delta on text */
        {{{"content_block_start",
           "{\"type\":\"content_block_start\",\"index\":0,"
           "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":"
           "\"f\",\"input\":{}}}"},
          {"content_block_delta",
           "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
           "\"type\":\"text_delta\",\"text\":\"x\"}}"}},
         CS_EV_FAIL},
        {{{"content_block_start", TB},
          {"content_block_delta",
           "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
           "\"type\":\"thinking_delta\",\"thinking\":\"x\"}}"}},
         CS_EV_FAIL},
        /* tool input that does not parse, or is not an object */
        {{{"content_block_start",
           "{\"type\":\"content_block_start\",\"index\":0,"
           "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":"
           "\"f\",\"input\":{}}}"},
          {"content_block_delta",
           "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{"
           "\"type\":\"input_json_delta\",\"partial_json\":\"[1]\"}}"},
          {"content_block_stop",
           "{\"type\":\"content_block_stop\",\"index\":0}"}},
         CS_EV_FAIL},
        /* message_stop with a block still open */
        {{{"content_block_start", TB},
          {"message_stop", "{\"type\":\"message_stop\"}"}},
         CS_EV_FAIL},
        /* the upstream's own error */
        {{{"error", "{\"type\":\"error\",\"error\":{\"type\":"
                    "\"overloaded_error\",\"message\":\"Overloaded\"}}"}},
         CS_EV_UPSTREAM},
        /* data that is not JSON */
        {{{"content_block_start", "{\"type\":"}}, CS_EV_FAIL},
        /* a second message_start */
        {{{"message_start", START}}, CS_EV_FAIL},
        /* message_stop right away: an empty message, signed */
        {{{"message_stop", "{\"type\":\"message_stop\"}"}}, CS_EV_FINISH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *ev[6][2] = {{"message_start", START}};
        size_t n = 1;
        for (size_t k = 0; k < 4 && cases[i].ev[k][1]; k++, n++) {
            ev[n][0] = cases[i].ev[k][0];
            ev[n][1] = cases[i].ev[k][1];
        }
        ev[n][0] = ev[n][1] = NULL;
        cs_ev r = run(ev, 1 << 20, NULL);
        CHECK(r == cases[i].want, "case %zu: got %d, want %d", i, r,
              cases[i].want);
    }
    /* a ping before message_start and an unknown event type pass */
    const char *early[4][2] = {{"ping", "{\"type\":\"ping\"}"},
                               {"message_start", START},
                               {"future_event", "{\"type\":\"future_event\"}"},
                               {"message_stop", "{\"type\":\"message_stop\"}"}};
    const char *early_all[5][2];
    memcpy(early_all, early, sizeof early);
    early_all[4][0] = early_all[4][1] = NULL;
    CHECK(run(early_all, 1 << 20, NULL) == CS_EV_FINISH, "ping first");
    /* an event before message_start; a cut stream is not complete */
    const char *before[2][2] = {{"content_block_start", TB}, {NULL, NULL}};
    CHECK(run(before, 1 << 20, NULL) == CS_EV_FAIL, "event before start");
    const char *cut[3][2] = {
        {"message_start", START}, {"content_block_start", TB}, {NULL, NULL}};
    CHECK(run(cut, 1 << 20, NULL) == CS_EV_PASS, "cut stream");
}

static void stream_thinking_and_close(void)
{
    /* signature_delta replaces (as the SDK does); redacted_thinking whole */
    const char *ev[][2] = {
        {"message_start", "{\"type\":\"message_start\",\"message\":{"
                          "\"role\":\"assistant\",\"content\":[]}}"},
        {"content_block_start",
         "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{"
         "\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgB\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"},
        {"content_block_start",
         "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
         "\"type\":\"thinking\",\"thinking\":\"\"}}"},
        {"content_block_delta",
         "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
         "\"signature_delta\",\"signature\":\"old\"}}"},
        {"content_block_delta",
         "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
         "\"signature_delta\",\"signature\":\"new\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}"},
        {"message_stop", "{\"type\":\"message_stop\"}"},
        {"ping", "{\"type\":\"ping\"}"},
        {NULL, NULL}};
    json_t *msgs = NULL;
    CHECK(run(ev, 1 << 20, &msgs) == CS_EV_FINISH, "thinking stream");
    CHECK_JSON(msgs,
               "[{\"role\":\"assistant\",\"reasoning\":[{\"type\":"
               "\"redacted_thinking\",\"data\":\"EmwKAhgB\"},{\"type\":"
               "\"thinking\",\"thinking\":\"\",\"signature\":\"new\"}]}]");
    json_decref(msgs);

    /* the closing bytes: message_stop carrying the member */
    size_t len = 0;
    char *c = A->stream_close(NULL, "{\"count\":2}", 11, &len);
    const char want[] = "event: message_stop\ndata: {\"type\":\"message_stop\","
                        "\"chatseal\":{\"count\":2}}\n\n";
    CHECK(c && len == sizeof want - 1 && !memcmp(c, want, len), "close: %s",
          c ? c : "(null)");
    free(c);
    c = A->stream_error(NULL, CHATSEAL_E_UPSTREAM_ERROR, "cut", &len);
    CHECK(c && strstr(c, "event: error\ndata: {") == c &&
              strstr(c, "\"type\":\"api_error\"") &&
              strstr(c, "\"code\":\"upstream_error\"") &&
              !strcmp(c + len - 2, "\n\n"),
          "error event: %s", c ? c : "(null)");
    free(c);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"spellings", spellings},
        {"invalid_requests", invalid_requests},
        {"forwarding", forwarding},
        {"tail_rules", tail_rules},
        {"replies", replies},
        {"stream_whole", stream_whole},
        {"stream_split_frames", stream_split_frames},
        {"stream_odd", stream_odd},
        {"stream_thinking_and_close", stream_thinking_and_close},
    };
    return cs_test_run(tests, sizeof tests / sizeof tests[0]);
}
