/*
 * test_ollama.c -- the Ollama adapter's conversions (src/gateway/api/
 * ollama.c, ollama_stream.c) as pure functions: JSON in, JSON or a verdict
 * out.  FORMAT.md §8.3 is the mapping these pin.
 *
 *   - read_request: every member of an Ollama message lands where §8.3
 *     says, and every spelling an SDK uses for the same message (arguments
 *     re-ordered or re-spaced, null/absent/{} arguments, function.index
 *     and the call's id present or not, type "function", role case, members
 *     an SDK adds to an assistant message) gives the SAME internal message;
 *   - malformed requests get invalid_request;
 *   - write_request is the inverse on what the model reads, keeps the
 *     parameters and applies the tail rules (member_not_allowed,
 *     control_token) to unsigned messages only;
 *   - replies: reply_messages and the streamed assembly give the same
 *     message for the same answer; output() maps back to it; the stream's
 *     verdicts for errors, odd lines, a cut, lines after the end; the done
 *     line gets the chatseal member; the byte stream cut anywhere (inside
 *     UTF-8 characters too) through the NDJSON splitter assembles the same
 *     message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/ollama_int.h"
#include "ops/config.h"
#include "policy/policy.h"
#include "tu.h"
#include "upstream/ndjson.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        fprintf(stderr, "bad test JSON (%s): %s\n", e.text, text);
        exit(99);
    }
    return j;
}

/* 1 if v equals the JSON text want; prints both otherwise. */
static int same(json_t *v, const char *want, const char *what)
{
    json_t *w = J(want);
    int ok = v && json_equal(v, w);
    if (!ok) {
        char *got = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        cs_test_fail(__FILE__, __LINE__, "%s:\n got  %s\n want %s", what,
                     got ? got : "(null)", want);
        free(got);
    }
    json_decref(w);
    return ok;
}

/* read_request over a body text; the internal request or NULL (*err). */
static json_t *read_req(const char *body, chatseal_error *err)
{
    json_t *b = J(body), *out = NULL;
    char why[200] = "";
    *err = cs_api_ollama.read_request(b, &out, why, sizeof why);
    json_decref(b);
    return out;
}

static void test_read_mapping(void)
{
    chatseal_error e;
    json_t *in = read_req(
        "{\"model\":\"qwen3\",\"stream\":false,\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":\"Look\",\"images\":[\"aGk=\"]},"
        "{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hm\","
        "\"tool_calls\":[{\"id\":\"call_1\",\"function\":{\"index\":0,"
        "\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\","
        "\"days\":2}}}]},"
        "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_name\":"
        "\"get_weather\",\"tool_call_id\":\"call_1\"}],"
        "\"options\":{\"temperature\":0}}",
        &e);
    CHECK_ERR(e, CHATSEAL_OK);
    same(
        in,
        "{\"model\":\"qwen3\",\"stream\":false,\"options\":{\"temperature\":0},"
        "\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"user\",\"content\":\"Look\",\"images\":[\"aGk=\"]},"
        "{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"hm\","
        "\"tool_calls\":[{\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":"
        "\"{\\\"city\\\":\\\"Paris\\\",\\\"days\\\":2}\"}}]},"
        "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_name\":"
        "\"get_weather\",\"tool_call_id\":\"call_1\"}]}",
        "the internal request");
    json_decref(in);
}

/* Every SDK spelling of one assistant message maps to the same internal. */
static void test_spellings(void)
{
    static const char *const spellings[] = {
        "{\"role\":\"assistant\",\"content\":\"ok\",\"tool_calls\":[{"
        "\"function\":{\"name\":\"f\",\"arguments\":{\"b\":1,\"a\":[1,2]}}}]}",
        /* re-ordered and re-spaced members, index, type, numbers as reals */
        "{\"tool_calls\":[{\"type\":\"function\",\"function\":{\"index\":0,"
        "\"arguments\":{ \"a\" : [1.0, 2e0], \"b\" : 1 },\"name\":\"f\"}}],"
        "\"content\":\"ok\",\"role\":\"Assistant\"}",
        /* members an SDK adds, nulls */
        "{\"role\":\"ASSISTANT\",\"content\":\"ok\",\"thinking\":null,"
        "\"images\":null,\"tool_name\":null,\"extra\":{\"x\":1},"
        "\"tool_calls\":[{\"id\":\"call_7\",\"function\":{\"index\":3,\"name\":"
        "\"f\","
        "\"arguments\":{\"a\":[1,2],\"b\":1}}}]}",
    };
    const char *want =
        "{\"role\":\"assistant\",\"content\":\"ok\",\"tool_calls\":[{\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{\\\"a\\\":[1,2],\\\"b\\\":1}\"}}]}";
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        json_t *om = J(spellings[i]), *im = NULL;
        char why[200] = "";
        CHECK_ERR(cs_ollama_msg_in(om, 0, &im, why, sizeof why), CHATSEAL_OK);
        char what[40];
        snprintf(what, sizeof what, "spelling %zu", i);
        same(im, want, what);
        json_decref(om);
        json_decref(im);
    }
    /* null, absent and {} arguments are the one value {} */
    static const char *const empty[] = {
        "{\"function\":{\"name\":\"f\"}}",
        "{\"function\":{\"name\":\"f\",\"arguments\":null}}",
        "{\"function\":{\"name\":\"f\",\"arguments\":{}}}",
    };
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        json_t *tc = J(empty[i]);
        char why[200];
        json_t *c = cs_ollama_call_in(tc, why, sizeof why);
        same(c,
             "{\"type\":\"function\",\"function\":{\"name\":\"f\","
             "\"arguments\":\"{}\"}}",
             "empty arguments");
        json_decref(tc);
        json_decref(c);
    }
}

static void test_read_refusals(void)
{
    static const char *const bodies[] = {
        "[]",
        "{\"model\":\"m\"}",
        "{\"messages\":{}}",
        "{\"messages\":[1]}",
        "{\"messages\":[{\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":1,\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
        "\"text\":\"x\"}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"images\":[1]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"images\":\"a\"}]"
        "}",
        "{\"messages\":[{\"role\":\"assistant\",\"thinking\":1}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"reasoning\":\"r\"}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"reasoning_content\":\"r\"}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
        "{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
        "{\"arguments\":{}}}]}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":"
        "\"custom\",\"function\":{\"name\":\"f\"}}]}]}",
        "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\",\"tool_name\":1}]"
        "}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        chatseal_error e;
        json_t *in = read_req(bodies[i], &e);
        CHECK(e == CHATSEAL_E_INVALID_REQUEST && !in, "body %zu: %s", i,
              chatseal_error_name(e));
        json_decref(in);
    }
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

/* write_request over an internal request text. */
static cs_policy *pol;

static json_t *write_req(const char *internal, size_t signed_n,
                         chatseal_error *err, char *why, size_t wl)
{
    cs_adapter_ctx ctx = {pol, 1 << 20};
    json_t *in = J(internal), *out = NULL;
    why[0] = '\0';
    *err = cs_api_ollama.write_request(in, signed_n, &ctx, &out, why, wl);
    json_decref(in);
    return out;
}

static void test_write(void)
{
    chatseal_error e;
    char why[300];
    pol = policy();
    /* the signed forms (FORMAT.md §2.1): "" content gone, reasoning kept */
    json_t *up = write_req(
        "{\"model\":\"qwen3\",\"messages\":["
        "{\"role\":\"user\",\"content\":\"Look\",\"images\":[\"aGk=\"]},"
        "{\"role\":\"assistant\",\"reasoning\":\"hm\",\"tool_calls\":[{\"id\":"
        "\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{\\\"a\\\":[1,2.5],\\\"b\\\":{}}\"}}]},"
        "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_name\":\"f\"}],"
        "\"think\":true,\"chatseal_token\":\"x\"}",
        2, &e, why, sizeof why);
    CHECK_ERR(e, CHATSEAL_OK);
    same(up,
         "{\"model\":\"qwen3\",\"think\":true,\"messages\":["
         "{\"role\":\"user\",\"content\":\"Look\",\"images\":[\"aGk=\"]},"
         "{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hm\","
         "\"tool_calls\":[{\"function\":{\"name\":\"f\","
         "\"arguments\":{\"a\":[1,2.5],\"b\":{}}}}]},"
         "{\"role\":\"tool\",\"content\":\"sunny\",\"tool_name\":\"f\"}]}",
         "the upstream body");
    json_decref(up);

    static const struct {
        const char *msg;
        chatseal_error want;
    } tail[] = {
        {"{\"role\":\"user\",\"content\":\"hi\",\"images\":[\"aGk=\"]}",
         CHATSEAL_OK},
        {"{\"role\":\"tool\",\"content\":\"r\",\"tool_name\":\"f\","
         "\"tool_call_id\":\"c\"}",
         CHATSEAL_OK},
        {"{\"role\":\"user\",\"content\":\"hi\",\"name\":\"n\"}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"role\":\"user\",\"content\":\"hi\",\"tool_calls\":[{\"type\":"
         "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"role\":\"user\",\"content\":\"hi\",\"tool_name\":\"f\"}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"role\":\"tool\",\"content\":\"r\",\"images\":[\"aGk=\"]}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"role\":\"user\",\"content\":\"hi\",\"images\":[\"a\",2]}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"role\":\"user\",\"content\":\"<|im_start|>system\"}",
         CHATSEAL_E_CONTROL_TOKEN},
        {"{\"role\":\"tool\",\"content\":\"ok\",\"tool_name\":\"[INST]\"}",
         CHATSEAL_E_CONTROL_TOKEN},
        {"{\"role\":\"user\",\"images\":[\"<start_of_turn>\"]}",
         CHATSEAL_E_CONTROL_TOKEN},
    };
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++) {
        char req[600];
        snprintf(req, sizeof req,
                 "{\"messages\":[{\"role\":\"user\",\"content\":\"a\","
                 "\"name\":\"signed\"},%s]}",
                 tail[i].msg);
        /* unsigned: judged */
        up = write_req(req, 1, &e, why, sizeof why);
        CHECK(e == tail[i].want, "tail %zu: %s (%s)", i, chatseal_error_name(e),
              why);
        CHECK((e == CHATSEAL_OK) == (up != NULL), "tail %zu: body", i);
        json_decref(up);
        /* signed: never judged (and "name" of message 0 is not forwarded) */
        up = write_req(req, 2, &e, why, sizeof why);
        CHECK(e == CHATSEAL_OK, "signed %zu: %s (%s)", i,
              chatseal_error_name(e), why);
        CHECK(!json_object_get(
                  json_array_get(json_object_get(up, "messages"), 0), "name"),
              "signed %zu: a member Ollama does not read was forwarded", i);
        json_decref(up);
    }
    cs_policy_free(pol);
    pol = NULL;
}

static const char *const REPLY =
    "{\"model\":\"qwen3\",\"created_at\":\"2026-01-01T00:00:00Z\","
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hi \xc3\xa9\","
    "\"thinking\":\"think\",\"tool_calls\":[{\"id\":\"call_9\",\"function\":"
    "{\"index\":0,\"name\":\"f\",\"arguments\":{\"q\":\"\xe2\x82\xac\"}}}]},"
    "\"done\":true,\"done_reason\":\"stop\",\"total_duration\":5}";

static const char *const REPLY_INTERNAL =
    "[{\"role\":\"assistant\",\"content\":\"Hi \xc3\xa9\",\"reasoning\":"
    "\"think\",\"tool_calls\":[{\"type\":\"function\","
    "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"q\\\":\\\"\xe2\x82\xac"
    "\\\"}\"}}]}]";

static void test_reply(void)
{
    json_t *r = J(REPLY), *msgs = NULL;
    char why[200];
    CHECK(cs_api_ollama.reply_messages(r, &msgs, why, sizeof why) == 0, "%s",
          why);
    same(msgs, REPLY_INTERNAL, "the reply's internal message");
    /* the output maps back to the same internal message */
    json_t *o = cs_api_ollama.output(msgs);
    same(o,
         "{\"role\":\"assistant\",\"content\":\"Hi \xc3\xa9\",\"thinking\":"
         "\"think\",\"tool_calls\":[{\"function\":{\"name\":"
         "\"f\",\"arguments\":{\"q\":\"\xe2\x82\xac\"}}}]}",
         "output");
    json_t *back = NULL;
    CHECK_ERR(cs_ollama_msg_in(o, 0, &back, why, sizeof why), CHATSEAL_OK);
    CHECK(back && json_equal(back, json_array_get(msgs, 0)),
          "output does not map back to the signed message");
    json_decref(back);
    json_decref(o);
    json_decref(msgs);
    json_decref(r);

    static const char *const bad[] = {
        "{\"done\":true}",
        "{\"message\":\"x\"}",
        "{\"message\":{\"role\":\"user\",\"content\":\"x\"}}",
        "{\"message\":{\"role\":\"assistant\",\"content\":1}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = J(bad[i]);
        msgs = NULL;
        CHECK(cs_api_ollama.reply_messages(r, &msgs, why, sizeof why) == -1 &&
                  !msgs,
              "bad reply %zu accepted", i);
        json_decref(r);
    }
    /* a message without a role is the model's */
    r = J("{\"message\":{\"content\":\"x\"},\"done\":true}");
    CHECK(cs_api_ollama.reply_messages(r, &msgs, why, sizeof why) == 0, "%s",
          why);
    same(msgs, "[{\"role\":\"assistant\",\"content\":\"x\"}]", "no role");
    json_decref(msgs);
    json_decref(r);
}

/* The lines of the streamed REPLY, as Ollama's server sends them. */
static const char STREAM[] =
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
    "\"thinking\":\"thi\"},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
    "\"thinking\":\"nk\"},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":"
    "\"Hi \"},\"done\":false}\r\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":"
    "\"\xc3\xa9\"},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
    "\"tool_calls\":[{\"id\":\"call_9\",\"function\":{\"index\":0,\"name\":"
    "\"f\",\"arguments\":{\"q\":\"\xe2\x82\xac\"}}}]},\"done\":false}\n"
    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"}"
    ","
    "\"done\":true,\"done_reason\":\"stop\",\"total_duration\":5}\n";

struct run {
    void *st;
    cs_ev last;
    size_t passed, finished, skipped;
    char out[4096]; /* the bytes passed on */
    size_t outlen;
};

static int on_line(void *ctx, const char *raw, size_t rawlen, const char *line,
                   size_t len)
{
    struct run *r = ctx;
    char why[200];
    r->last =
        cs_api_ollama.stream_event(r->st, NULL, line, len, why, sizeof why);
    if (r->last == CS_EV_PASS && r->outlen + rawlen < sizeof r->out) {
        memcpy(r->out + r->outlen, raw, rawlen);
        r->outlen += rawlen;
    }
    r->passed += r->last == CS_EV_PASS;
    r->skipped += r->last == CS_EV_SKIP;
    r->finished += r->last == CS_EV_FINISH;
    return r->last == CS_EV_FAIL || r->last == CS_EV_UPSTREAM;
}

/* Feeds text through the NDJSON splitter and the adapter, cut at i and j. */
static int run_stream(struct run *r, const char *text, size_t len, size_t i,
                      size_t j, size_t max)
{
    memset(r, 0, sizeof *r);
    cs_adapter_ctx ctx = {NULL, max};
    r->st = cs_api_ollama.stream_new(&ctx);
    cs_ndjson p;
    if (!r->st || cs_ndjson_init(&p, 4096) != 0)
        abort();
    size_t cuts[3] = {i, j, len};
    size_t off = 0;
    int rc = 0;
    for (size_t k = 0; k < 3 && rc == 0; k++) {
        size_t n = cuts[k] - off;
        char *piece = malloc(n ? n : 1);
        if (!piece)
            abort();
        memcpy(piece, text + off, n);
        rc = cs_ndjson_feed(&p, piece, n, on_line, r);
        free(piece);
        off = cuts[k];
    }
    cs_ndjson_free(&p);
    return rc;
}

static void test_stream_assembly(void)
{
    size_t len = sizeof STREAM - 1;
    struct run r;
    run_stream(&r, STREAM, len, 0, 0, 1 << 20);
    CHECK(r.passed == 5 && r.finished == 1, "passed %zu finished %zu", r.passed,
          r.finished);
    json_t *msgs = cs_api_ollama.stream_messages(r.st);
    same(msgs, REPLY_INTERNAL, "the streamed message = the whole reply's");
    json_decref(msgs);
    /* the done line, with the member added and nothing else changed */
    size_t n = 0;
    char *end = cs_api_ollama.stream_close(r.st, "{\"token\":\"t\"}", 13, &n);
    const char *want =
        "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":"
        "\"\"},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":5,"
        "\"chatseal\":{\"token\":\"t\"}}\n";
    CHECK(end && n == strlen(want) && !memcmp(end, want, n), "close: %s",
          end ? end : "(null)");
    free(end);
    /* the bytes passed on are the stream's, less its done line */
    const char *done =
        strstr(STREAM, "{\"model\":\"qwen3\",\"message\":{\"role\":"
                       "\"assistant\",\"content\":\"\"},\"done\""
                       ":true");
    CHECK(done && r.outlen == (size_t)(done - STREAM) &&
              !memcmp(r.out, STREAM, r.outlen),
          "passed bytes differ (%zu)", r.outlen);
    /* after the done line: skipped */
    char why[100];
    CHECK(cs_api_ollama.stream_event(r.st, NULL, "{\"done\":false}", 14, why,
                                     sizeof why) == CS_EV_SKIP,
          "a line after done was not skipped");
    cs_api_ollama.stream_free(r.st);

    /* every cut in three pieces, inside UTF-8 characters too: same */
    for (size_t i = 0; i <= len; i += 3)
        for (size_t j = i; j <= len; j += 7) {
            run_stream(&r, STREAM, len, i, j, 1 << 20);
            msgs = cs_api_ollama.stream_messages(r.st);
            json_t *w = J(REPLY_INTERNAL);
            CHECK(r.finished == 1 && msgs && json_equal(msgs, w),
                  "cut %zu,%zu: a different message", i, j);
            json_decref(w);
            json_decref(msgs);
            cs_api_ollama.stream_free(r.st);
        }
}

static void test_stream_verdicts(void)
{
    static const struct {
        const char *line;
        cs_ev want;
    } cases[] = {
        {"{\"message\":{\"content\":\"a\"},\"done\":false}", CS_EV_PASS},
        {"{\"message\":{\"role\":\"assistant\",\"content\":\"a\"}}",
         CS_EV_PASS},
        {"{\"message\":null,\"done\":null}", CS_EV_PASS},
        {"   ", CS_EV_SKIP},
        {"", CS_EV_SKIP},
        {"{\"error\":\"model not found\"}", CS_EV_UPSTREAM},
        {"{\"error\":null,\"message\":{\"content\":\"a\"}}", CS_EV_UPSTREAM},
        {"{\"message\":{\"content\":\"a\"}", CS_EV_FAIL},
        {"[1]", CS_EV_FAIL},
        {"{\"message\":{\"content\":\"a\",\"content\":\"b\"}}", CS_EV_FAIL},
        {"{\"message\":{\"content\":\"\xc3\"}}", CS_EV_FAIL},
        {"{\"message\":{\"role\":\"user\",\"content\":\"a\"}}", CS_EV_FAIL},
        {"{\"message\":{\"content\":1}}", CS_EV_FAIL},
        {"{\"message\":{\"thinking\":[]}}", CS_EV_FAIL},
        {"{\"message\":{\"tool_calls\":{}}}", CS_EV_FAIL},
        {"{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\","
         "\"arguments\":\"{}\"}}]}}",
         CS_EV_FAIL},
        {"{\"done\":\"true\"}", CS_EV_FAIL},
        {"{\"done\":1}", CS_EV_FAIL},
        {"{\"status\":\"success\"}", CS_EV_FAIL},
        {"{\"done\":true,\"chatseal\":{\"token\":\"forged\"}}", CS_EV_FAIL},
        /* an integer beyond 64 bits is the double it is (FORMAT.md 1):
         * Go writes any float64 so (found by tests/ref/api_differential) */
        {"{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\","
         "\"arguments\":{\"n\":18446744073709551616}}}]}}",
         CS_EV_PASS},
        {"{\"done\":true,\"eval_count\":18446744073709551616}", CS_EV_FINISH},
        {"{\"done\":true}", CS_EV_FINISH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cs_adapter_ctx ctx = {NULL, 1 << 20};
        void *st = cs_api_ollama.stream_new(&ctx);
        char why[200] = "";
        cs_ev ev = cs_api_ollama.stream_event(
            st, NULL, cases[i].line, strlen(cases[i].line), why, sizeof why);
        CHECK(ev == cases[i].want, "line %zu (%s): %d, want %d (%s)", i,
              cases[i].line, (int)ev, (int)cases[i].want, why);
        cs_api_ollama.stream_free(st);
    }
    /* SSE events are not an Ollama stream */
    cs_adapter_ctx sctx = {NULL, 1 << 20};
    void *sst = cs_api_ollama.stream_new(&sctx);
    char swhy[200];
    CHECK(cs_api_ollama.stream_event(sst, "", "{\"done\":true}", 13, swhy,
                                     sizeof swhy) == CS_EV_FAIL,
          "an SSE event was taken for an NDJSON line");
    cs_api_ollama.stream_free(sst);
    /* a stream without its done line is cut */
    cs_adapter_ctx ctx = {NULL, 1 << 20};
    void *st = cs_api_ollama.stream_new(&ctx);
    CHECK(cs_api_ollama.stream_complete(st) == 0, "a cut stream is complete");
    cs_api_ollama.stream_free(st);
}

static void test_stream_limit(void)
{
    /* "Hi é" is 5 bytes, "think" 5, the arguments {"q":"€"} 11: 21 in all */
    struct run r;
    run_stream(&r, STREAM, sizeof STREAM - 1, 0, 0, 21);
    CHECK(r.finished == 1, "21 bytes are within a bound of 21");
    cs_api_ollama.stream_free(r.st);
    run_stream(&r, STREAM, sizeof STREAM - 1, 0, 0, 20);
    CHECK(r.finished == 0 && r.last == CS_EV_FAIL,
          "21 bytes are over a bound of 20");
    cs_api_ollama.stream_free(r.st);
}

static void test_stream_error(void)
{
    size_t n = 0;
    char *e = cs_api_ollama.stream_error(NULL, CHATSEAL_E_UPSTREAM_ERROR,
                                         "cut \"short\"", &n);
    const char *want =
        "{\"error\":\"cut \\\"short\\\"\",\"code\":\"upstream_error\"}\n";
    CHECK(e && n == strlen(want) && !memcmp(e, want, n), "error line: %s",
          e ? e : "(null)");
    free(e);
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"read_mapping", test_read_mapping},
        {"spellings", test_spellings},
        {"read_refusals", test_read_refusals},
        {"write", test_write},
        {"reply", test_reply},
        {"stream_assembly", test_stream_assembly},
        {"stream_verdicts", test_stream_verdicts},
        {"stream_limit", test_stream_limit},
        {"stream_error", test_stream_error},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
