/*
 * test_responses.c -- the OpenAI Responses adapter's conversions
 * (src/gateway/api/responses*.c), as pure functions through the adapter
 * table: read_request, write_request, reply_messages, output and the
 * stream callbacks.
 *
 * What must hold (FORMAT.md §8.1): every spelling the real SDKs send a
 * reply back in (the openai SDK's items as received, the AI SDK's
 * rebuilt ones) is the same internal message as what was signed; the
 * forwarded body is rebuilt from internal values only (ids, status,
 * annotations and unknown members never pass); stateful members stay for
 * the parameter check; unsigned assistant items and file parts are
 * refused; a stream is signed only when response.completed agrees with
 * the deltas and items before it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/adapter.h"
#include "tu.h"

static const cs_adapter *A = &cs_api_responses;

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (!v) {
        fprintf(stderr, "bad test JSON: %s: %s\n", e.text, text);
        abort();
    }
    return v;
}

static char *dump(json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

#define CHECK_JSON(v, want)                                                    \
    do {                                                                       \
        json_t *w_ = J(want);                                                  \
        char *g_ = dump(v), *x_ = dump(w_);                                    \
        CHECK(g_ &&x_ && !strcmp(g_, x_), "got %s\nwant %s", g_, x_);          \
        free(g_);                                                              \
        free(x_);                                                              \
        json_decref(w_);                                                       \
    } while (0)

/* read_request on a body text: the internal request, or NULL with *e. */
static json_t *rd(const char *body, chatseal_error *e)
{
    char why[300] = "";
    json_t *b = J(body), *in = NULL;
    *e = A->read_request(b, &in, why, sizeof why);
    json_decref(b);
    return in;
}

static void test_string_input_and_instructions(void)
{
    chatseal_error e;
    json_t *in = rd("{\"model\":\"m\",\"instructions\":\"Be brief.\","
                    "\"input\":\"Hi\",\"store\":false,\"temperature\":0.5}",
                    &e);
    CHECK(e == CHATSEAL_OK, "read: %d", e);
    CHECK_JSON(in, "{\"model\":\"m\",\"temperature\":0.5,\"messages\":["
                   "{\"role\":\"system\",\"content\":\"Be brief.\"},"
                   "{\"role\":\"user\",\"content\":\"Hi\"}]}");
    char why[300] = "";
    json_t *up = NULL;
    e = A->write_request(in, 0, NULL, &up, why, sizeof why);
    CHECK(e == CHATSEAL_OK, "write: %d %s", e, why);
    /* store:false sent explicitly (OpenAI's default is true) */
    CHECK_JSON(up, "{\"model\":\"m\",\"temperature\":0.5,\"instructions\":"
                   "\"Be brief.\",\"store\":false,\"input\":[{\"type\":"
                   "\"message\",\"role\":\"user\",\"content\":\"Hi\"}]}");
    json_decref(up);
    json_decref(in);
}

/* The same history as the openai SDK sends it (instructions, output items
 * carried forward as received) and as the AI SDK sends it (a developer
 * item, rebuilt items without ids or status): one internal request. */
static void test_sdk_spellings_agree(void)
{
    const char *openai =
        "{\"model\":\"m\",\"instructions\":\"Sys\",\"input\":["
        "{\"role\":\"user\",\"content\":\"weather?\"},"
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":"
        "\"summary_text\",\"text\":\"think\"}],\"encrypted_content\":"
        "\"gAAA+/==\",\"status\":null},"
        "{\"type\":\"function_call\",\"id\":\"fc_1\",\"status\":"
        "\"completed\",\"call_id\":\"call_1\",\"name\":\"get_weather\","
        "\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
        "\"output\":\"sunny\"},"
        "{\"type\":\"message\",\"id\":\"msg_1\",\"status\":\"completed\","
        "\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
        "\"text\":\"It is sunny.\",\"annotations\":[],\"logprobs\":[]}]},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":"
        "\"thanks\"}]}]}";
    const char *aisdk =
        "{\"model\":\"m\",\"input\":["
        "{\"role\":\"developer\",\"content\":\"Sys\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":"
        "\"weather?\"}]},"
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"encrypted_content\":"
        "\"gAAA+/==\",\"summary\":[{\"type\":\"summary_text\",\"text\":"
        "\"think\"}]},"
        "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":"
        "\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
        "\"output\":\"sunny\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
        "\"text\":\"It is sunny.\"}],\"id\":\"msg_1\"},"
        "{\"role\":\"user\",\"content\":\"thanks\"}]}";
    chatseal_error e1, e2;
    json_t *a = rd(openai, &e1), *b = rd(aisdk, &e2);
    CHECK(e1 == CHATSEAL_OK && e2 == CHATSEAL_OK, "read: %d %d", e1, e2);
    CHECK(json_equal(a, b), "the two spellings differ");
    CHECK_JSON(json_object_get(a, "messages"),
               "[{\"role\":\"system\",\"content\":\"Sys\"},"
               "{\"role\":\"user\",\"content\":\"weather?\"},"
               "{\"role\":\"assistant\",\"reasoning\":[{\"type\":"
               "\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":"
               "\"summary_text\",\"text\":\"think\"}],\"encrypted_content\":"
               "\"gAAA+/==\"}],\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
               "\"function\",\"function\":{\"name\":\"get_weather\","
               "\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}]},"
               "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":"
               "\"sunny\"},"
               "{\"role\":\"assistant\",\"content\":\"It is sunny.\"},"
               "{\"role\":\"user\",\"content\":\"thanks\"}]");
    /* forwarded: rebuilt, ids/status/annotations gone, the reasoning item
     * byte-exact before its call, instructions top-level */
    char why[300] = "";
    json_t *up = NULL;
    CHECK(A->write_request(a, 6, NULL, &up, why, sizeof why) == CHATSEAL_OK,
          "write: %s", why);
    CHECK_JSON(
        up,
        "{\"model\":\"m\",\"instructions\":\"Sys\",\"store\":false,\"input\":["
        "{\"type\":\"message\",\"role\":\"user\",\"content\":\"weather?\"},"
        "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[{\"type\":"
        "\"summary_text\",\"text\":\"think\"}],\"encrypted_content\":"
        "\"gAAA+/==\"},"
        "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":"
        "\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"},"
        "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
        "\"output\":\"sunny\"},"
        "{\"type\":\"message\",\"role\":\"assistant\",\"content\":"
        "\"It is sunny.\"},"
        "{\"type\":\"message\",\"role\":\"user\",\"content\":\"thanks\"}]}");
    json_decref(up);
    json_decref(a);
    json_decref(b);
}

/* A reply's output -> signed messages -> chatseal.output -> sent back as
 * input: the same internal messages. */
static void test_reply_round_trip(void)
{
    json_t *reply =
        J("{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\","
          "\"output\":[{\"type\":\"reasoning\",\"id\":\"rs_9\",\"summary\":[],"
          "\"encrypted_content\":\"xyz\"},{\"type\":\"web_search_call\",\"id\":"
          "\"ws_1\",\"status\":\"completed\"},{\"type\":\"message\",\"id\":"
          "\"msg_9\",\"role\":\"assistant\",\"status\":\"completed\","
          "\"content\":[{\"type\":\"output_text\",\"text\":\"A\","
          "\"annotations\":[]},{\"type\":\"output_text\",\"text\":\"B\"}]},"
          "{\"type\":\"function_call\",\"id\":\"fc_2\",\"call_id\":\"c2\","
          "\"name\":\"f\",\"arguments\":\"{}\",\"status\":\"completed\"}]}");
    json_t *msgs = NULL;
    char why[300] = "";
    CHECK(A->reply_messages(reply, &msgs, why, sizeof why) == 0, "reply: %s",
          why);
    CHECK_JSON(msgs,
               "[{\"role\":\"assistant\",\"content\":\"AB\",\"reasoning\":"
               "[{\"type\":\"reasoning\",\"id\":\"rs_9\",\"summary\":[],"
               "\"encrypted_content\":\"xyz\"}]},{\"role\":\"assistant\","
               "\"tool_calls\":[{\"id\":\"c2\",\"type\":\"function\","
               "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]");
    /* forwarded, a reasoning item that only names provider storage (no
     * encrypted_content, no content) is left out; the output keeps it */
    json_t *in2 =
        J("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
          "{\"role\":\"assistant\",\"content\":\"a\",\"reasoning\":"
          "[{\"type\":\"reasoning\",\"id\":\"rs_2\",\"summary\":[]}]}]}");
    json_t *up2 = NULL;
    CHECK(A->write_request(in2, 2, NULL, &up2, why, sizeof why) == CHATSEAL_OK,
          "%s", why);
    CHECK_JSON(json_object_get(up2, "input"),
               "[{\"type\":\"message\",\"role\":\"user\",\"content\":\"q\"},"
               "{\"type\":\"message\",\"role\":\"assistant\",\"content\":"
               "\"a\"}]");
    json_decref(up2);
    /* reasoning alone (no item of its message follows it): not forwarded,
     * OpenAI refuses an unpaired reasoning item */
    json_t *in3 = J("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                    "{\"role\":\"assistant\",\"reasoning\":[{\"type\":"
                    "\"reasoning\",\"id\":\"rs_3\",\"summary\":[],"
                    "\"encrypted_content\":\"e\"}]},{\"role\":\"user\","
                    "\"content\":\"r\"}]}");
    CHECK(A->write_request(in3, 3, NULL, &up2, why, sizeof why) == CHATSEAL_OK,
          "%s", why);
    CHECK(json_array_size(json_object_get(up2, "input")) == 2,
          "unpaired reasoning forwarded");
    json_decref(in3);
    json_t *o2 = A->output(json_object_get(in2, "messages"));
    CHECK(json_array_size(o2) == 3, "output keeps the reasoning item");
    json_decref(o2);
    json_decref(up2);
    json_decref(in2);
    json_t *items = A->output(msgs);
    json_t *body = json_pack("{s:s,s:O}", "model", "m", "input", items);
    json_t *in = NULL;
    CHECK(A->read_request(body, &in, why, sizeof why) == CHATSEAL_OK, "%s",
          why);
    CHECK(json_equal(json_object_get(in, "messages"), msgs),
          "chatseal.output read back differs");
    json_decref(in);
    json_decref(body);
    json_decref(items);
    json_decref(msgs);
    json_decref(reply);
    /* an item the client could not send back: no token */
    reply = J("{\"status\":\"completed\",\"output\":[{\"type\":"
              "\"computer_call\",\"id\":\"x\"}]}");
    CHECK(A->reply_messages(reply, &msgs, why, sizeof why) == -1, "signed");
    json_decref(reply);
    reply = J("{\"status\":\"failed\",\"output\":[]}");
    CHECK(A->reply_messages(reply, &msgs, why, sizeof why) == -1, "signed");
    json_decref(reply);
}

static void test_stateful_and_refused(void)
{
    chatseal_error e;
    json_t *in = rd("{\"input\":\"x\",\"store\":true,"
                    "\"previous_response_id\":\"resp_1\"}",
                    &e);
    /* kept for the parameter check (parameter_not_allowed unless allowed) */
    CHECK(e == CHATSEAL_OK && json_is_true(json_object_get(in, "store")) &&
              json_object_get(in, "previous_response_id"),
          "stateful members dropped");
    char why[300] = "";
    json_t *up = NULL;
    CHECK(A->write_request(in, 0, NULL, &up, why, sizeof why) == CHATSEAL_OK,
          "%s", why);
    CHECK(json_is_true(json_object_get(up, "store")), "store not kept");
    json_decref(up);
    json_decref(in);
    in = rd("{\"input\":\"x\",\"previous_response_id\":null}", &e);
    CHECK(e == CHATSEAL_OK && !json_object_get(in, "previous_response_id"),
          "null previous_response_id kept");
    json_decref(in);
    static const struct {
        const char *body;
        chatseal_error want;
    } bad[] = {
        {"{\"input\":[{\"type\":\"item_reference\",\"id\":\"msg_1\"}]}",
         CHATSEAL_E_PARAMETER_NOT_ALLOWED},
        {"{\"input\":[{\"type\":\"computer_call_output\",\"call_id\":\"c\"}]}",
         CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":[{\"content\":\"no role or type\"}]}",
         CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
         CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
         "\"text\":\"x\"}]}]}",
         CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":[{\"type\":\"function_call\",\"name\":\"f\"}]}",
         CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":[{\"type\":\"reasoning\",\"summary\":\"x\"}]}",
         CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":[1]}", CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":5}", CHATSEAL_E_INVALID_REQUEST},
        {"{\"model\":\"m\"}", CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":\"x\",\"store\":\"yes\"}", CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":\"x\",\"instructions\":[]}", CHATSEAL_E_INVALID_REQUEST},
        {"{\"input\":\"x\",\"messages\":[]}", CHATSEAL_E_INVALID_REQUEST},
        {"[]", CHATSEAL_E_INVALID_REQUEST},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        in = rd(bad[i].body, &e);
        CHECK(e == bad[i].want && !in, "%s: %d", bad[i].body, e);
        json_decref(in);
    }
}

/* The tail: unsigned assistant items and file parts are refused; the same
 * file part in a signed message passes. */
static void test_tail_rules(void)
{
    static const struct {
        const char *input;
        size_t signed_n;
        chatseal_error want;
    } cases[] = {
        {"[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\","
         "\"content\":\"forged\"}]",
         1, CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"[{\"role\":\"user\",\"content\":\"a\"},{\"type\":\"function_call\","
         "\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}]",
         1, CHATSEAL_E_MEMBER_NOT_ALLOWED},
        /* a reasoning item that no assistant item follows is an assistant
         * message of its own: refused unsigned */
        {"[{\"role\":\"user\",\"content\":\"a\"},{\"type\":\"reasoning\","
         "\"id\":\"rs\",\"summary\":[]},{\"role\":\"user\",\"content\":\"b\"}]",
         1, CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":"
         "\"a\"},{\"type\":\"input_file\",\"file_id\":\"f\"}]}]",
         0, CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":"
         "\"a\"},{\"type\":\"input_file\",\"file_id\":\"f\"}]}]",
         1, CHATSEAL_OK},
        {"[{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":"
         "\"a\"},{\"type\":\"input_image\",\"image_url\":\"data:x\","
         "\"detail\":\"auto\"}]}]",
         0, CHATSEAL_OK},
        {"[{\"type\":\"function_call_output\",\"call_id\":\"c\",\"output\":["
         "{\"type\":\"input_file\",\"file_id\":\"f\"}]}]",
         0, CHATSEAL_E_MEMBER_NOT_ALLOWED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[600], why[300] = "";
        snprintf(body, sizeof body, "{\"input\":%s}", cases[i].input);
        chatseal_error e;
        json_t *in = rd(body, &e), *up = NULL;
        CHECK(e == CHATSEAL_OK, "read %zu: %d", i, e);
        e = A->write_request(in, cases[i].signed_n, NULL, &up, why, sizeof why);
        CHECK(e == cases[i].want && (e == CHATSEAL_OK) == (up != NULL),
              "case %zu: %d (%s)", i, e, why);
        json_decref(up);
        json_decref(in);
    }
}

/* ------------------------------------------------------------ streams -- */

static cs_ev feed(void *st, const char *event, const char *data)
{
    char why[300] = "";
    return A->stream_event(st, event, data, strlen(data), why, sizeof why);
}

/* A text reply "H\xc3\xa9llo" in two deltas, then a call. */
static const char *const EVS[][2] = {
    {"response.created", "{\"type\":\"response.created\",\"sequence_number\":"
                         "0,\"response\":{\"id\":\"r\",\"status\":"
                         "\"in_progress\",\"output\":[]}}"},
    {"response.output_item.added",
     "{\"type\":\"response.output_item.added\",\"sequence_number\":1,"
     "\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"m\","
     "\"role\":\"assistant\",\"content\":[],\"status\":\"in_progress\"}}"},
};

static void test_stream_text_and_call(void)
{
    void *st = A->stream_new(NULL);
    CHECK(st != NULL, "stream_new");
    CHECK(feed(st, EVS[0][0], EVS[0][1]) == CS_EV_PASS, "created");
    CHECK(feed(st, EVS[1][0], EVS[1][1]) == CS_EV_PASS, "added");
    /* the deltas "H" and "\xc3\xa9llo" (a JSON string cannot hold half a
     * character: a split multi-byte character is the SSE reader's, see
     * test_sse.c) are joined as bytes */
    CHECK(feed(st, "",
               "{\"type\":\"response.output_text.delta\","
               "\"sequence_number\":2,\"output_index\":0,"
               "\"content_index\":0,\"delta\":\"H\",\"obfuscation\":"
               "\"x\"}") == CS_EV_PASS,
          "delta 1");
    CHECK(feed(st, "response.output_text.delta",
               "{\"type\":\"response.output_text.delta\",\"sequence_number\":"
               "3,\"output_index\":0,\"content_index\":0,\"delta\":"
               "\"\xc3\xa9llo\"}") == CS_EV_PASS,
          "delta 2");
    CHECK(feed(st, "response.output_item.done",
               "{\"type\":\"response.output_item.done\",\"sequence_number\":4,"
               "\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"m\","
               "\"role\":\"assistant\",\"status\":\"completed\",\"content\":"
               "[{\"type\":\"output_text\",\"text\":\"H\xc3\xa9llo\","
               "\"annotations\":[]}]}}") == CS_EV_PASS,
          "done 0");
    CHECK(feed(st, "response.output_item.added",
               "{\"type\":\"response.output_item.added\",\"sequence_number\":"
               "5,\"output_index\":1,\"item\":{\"type\":\"function_call\","
               "\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"\"}}") ==
              CS_EV_PASS,
          "added 1");
    CHECK(feed(st, "response.function_call_arguments.delta",
               "{\"type\":\"response.function_call_arguments.delta\","
               "\"sequence_number\":6,\"output_index\":1,\"delta\":"
               "\"{\\\"a\\\":\"}") == CS_EV_PASS,
          "args 1");
    CHECK(feed(st, "response.function_call_arguments.delta",
               "{\"type\":\"response.function_call_arguments.delta\","
               "\"sequence_number\":7,\"output_index\":1,\"delta\":\"1}\"}") ==
              CS_EV_PASS,
          "args 2");
    CHECK(feed(st, "response.output_item.done",
               "{\"type\":\"response.output_item.done\",\"sequence_number\":8,"
               "\"output_index\":1,\"item\":{\"type\":\"function_call\","
               "\"call_id\":\"c\",\"name\":\"f\",\"arguments\":"
               "\"{\\\"a\\\":1}\",\"status\":\"completed\"}}") == CS_EV_PASS,
          "done 1");
    CHECK(A->stream_messages(st) == NULL, "messages before the end");
    CHECK(!A->stream_complete(st), "complete without response.completed");
    CHECK(feed(st, "response.completed",
               "{\"type\":\"response.completed\",\"sequence_number\":9,"
               "\"response\":{\"id\":\"r\",\"status\":\"completed\","
               "\"output\":[{\"type\":\"message\",\"id\":\"m\",\"role\":"
               "\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":"
               "\"H\xc3\xa9llo\"}]},{\"type\":\"function_call\",\"call_id\":"
               "\"c\",\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}]}}") ==
              CS_EV_FINISH,
          "completed");
    CHECK(feed(st, "", "anything") == CS_EV_SKIP, "after the end");
    json_t *m = A->stream_messages(st);
    CHECK_JSON(m, "[{\"role\":\"assistant\",\"content\":\"H\xc3\xa9llo\"},"
                  "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
                  "\"type\":\"function\",\"function\":{\"name\":\"f\","
                  "\"arguments\":\"{\\\"a\\\":1}\"}}]}]");
    json_decref(m);
    size_t n = 0;
    const char *member = "{\"token\":\"t\"}";
    char *close = A->stream_close(st, member, strlen(member), &n);
    if (!close) {
        CHECK(0, "stream_close: NULL");
        A->stream_free(st);
        return;
    }
    CHECK(n == strlen(close), "close");
    CHECK(!strncmp(close, "event: response.completed\ndata: {", 33),
          "close starts with the held event: %s", close);
    CHECK(strstr(close, "\n\nevent: response.chatseal\ndata: "
                        "{\"type\":\"keepalive\","
                        "\"sequence_number\":10,\"chatseal\":"
                        "{\"token\":\"t\"}}\n\n"),
          "chatseal event: %s", close);
    free(close);
    A->stream_free(st);
}

/* An integer beyond 64 bits is the double it is (FORMAT.md 1), in an
 * event and in the held response.completed written back on one line
 * (found by tests/ref/api_differential.py: such events failed the
 * stream). */
static void test_stream_big_integers(void)
{
    void *st = A->stream_new(NULL);
    CHECK(st != NULL, "stream_new");
    CHECK(feed(st, "response.created",
               "{\"type\":\"response.created\",\"sequence_number\":0,"
               "\"response\":{\"id\":\"r\",\"status\":\"in_progress\","
               "\"output\":[],\"max_output_tokens\":18446744073709551616}}") ==
              CS_EV_PASS,
          "created");
    CHECK(feed(st, "response.output_item.added",
               "{\"type\":\"response.output_item.added\",\"sequence_number\":"
               "1,\"output_index\":0,\"item\":{\"type\":\"function_call\","
               "\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"\"}}") ==
              CS_EV_PASS,
          "added");
    CHECK(feed(st, "response.output_item.done",
               "{\"type\":\"response.output_item.done\",\"sequence_number\":2,"
               "\"output_index\":0,\"item\":{\"type\":\"function_call\","
               "\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}}") ==
              CS_EV_PASS,
          "done");
    CHECK(feed(st, "response.completed",
               "{\"type\":\"response.completed\",\"sequence_number\":3,\n"
               "\"response\":{\"id\":\"r\",\"status\":\"completed\",\"output\":"
               "[{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\","
               "\"arguments\":\"{}\"}],\"usage\":{\"total_tokens\":"
               "18446744073709551616}}}") == CS_EV_FINISH,
          "completed");
    size_t n = 0;
    char *close = A->stream_close(st, "{}", 2, &n);
    CHECK(close && strstr(close, "\"sequence_number\":3,") &&
              strstr(close, "\"total_tokens\":1.8446744073709552e"),
          "stream_close: %s", close ? close : "(null)");
    free(close);
    A->stream_free(st);
}

/* Disagreements and the upstream's own verdicts. */
static void test_stream_refusals(void)
{
    const char *added = "{\"type\":\"response.output_item.added\","
                        "\"output_index\":0,\"item\":{\"type\":\"message\","
                        "\"role\":\"assistant\",\"content\":[]}}";
    const char *delta = "{\"type\":\"response.output_text.delta\","
                        "\"output_index\":0,\"content_index\":0,\"delta\":"
                        "\"Hi\"}";
    const char *done = "{\"type\":\"response.output_item.done\","
                       "\"output_index\":0,\"item\":{\"type\":\"message\","
                       "\"role\":\"assistant\",\"content\":[{\"type\":"
                       "\"output_text\",\"text\":\"Hi\"}]}}";
    const char *done_other =
        "{\"type\":\"response.output_item.done\",\"output_index\":0,"
        "\"item\":{\"type\":\"message\",\"role\":\"assistant\",\"content\":"
        "[{\"type\":\"output_text\",\"text\":\"Bye\"}]}}";
    const char *comp_hi =
        "{\"type\":\"response.completed\",\"response\":{\"status\":"
        "\"completed\",\"output\":[{\"type\":\"message\",\"role\":"
        "\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":"
        "\"Hi\"}]}]}}";
    const char *comp_bye =
        "{\"type\":\"response.completed\",\"response\":{\"status\":"
        "\"completed\",\"output\":[{\"type\":\"message\",\"role\":"
        "\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":"
        "\"Bye\"}]}]}}";
    static const struct {
        const char *evs[5];
        cs_ev last;
    } cases[] = {
        /* completed says something else than the deltas and items */
        {{"A", "D", "O", "B", NULL}, CS_EV_FAIL},
        /* the item is finished with another text than the deltas */
        {{"A", "D", "X", "B", NULL}, CS_EV_FAIL},
        /* an announced item never finished */
        {{"A", "D", "H", NULL, NULL}, CS_EV_FAIL},
        /* the agreeing stream */
        {{"A", "D", "O", "H", NULL}, CS_EV_FINISH},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        void *st = A->stream_new(NULL);
        cs_ev r = CS_EV_PASS;
        for (size_t i = 0; cases[c].evs[i]; i++) {
            char k = cases[c].evs[i][0];
            const char *d = k == 'A'   ? added
                            : k == 'D' ? delta
                            : k == 'O' ? done
                            : k == 'X' ? done_other
                            : k == 'H' ? comp_hi
                                       : comp_bye;
            r = feed(st, "", d);
        }
        CHECK(r == cases[c].last, "case %zu: %d", c, r);
        A->stream_free(st);
    }
    static const struct {
        const char *event, *data;
        cs_ev want;
    } one[] = {
        {"response.failed",
         "{\"type\":\"response.failed\",\"response\":{\"status\":\"failed\"}}",
         CS_EV_UPSTREAM},
        {"response.incomplete", "{\"type\":\"response.incomplete\"}",
         CS_EV_UPSTREAM},
        {"error", "{\"type\":\"error\",\"code\":\"x\",\"message\":\"m\"}",
         CS_EV_UPSTREAM},
        {"response.created", "{\"type\":\"response.completed\"}", CS_EV_FAIL},
        {"", "not json", CS_EV_FAIL},
        {"", "{\"no\":\"type\"}", CS_EV_FAIL},
        {"", "{\"type\":\"response.output_text.delta\",\"output_index\":0}",
         CS_EV_FAIL},
        {"",
         "{\"type\":\"response.output_text.delta\",\"output_index\":\"0\","
         "\"content_index\":0,\"delta\":\"x\"}",
         CS_EV_FAIL},
        {"", "{\"type\":\"response.completed\",\"response\":{}}", CS_EV_FAIL},
        {"", "{\"type\":\"response.in_progress\"}", CS_EV_PASS},
        /* a done event repeating a text that no delta carried */
        {"",
         "{\"type\":\"response.output_text.done\",\"output_index\":0,"
         "\"content_index\":0,\"text\":\"unseen\"}",
         CS_EV_FAIL},
        {"",
         "{\"type\":\"response.output_text.done\",\"output_index\":0,"
         "\"content_index\":0,\"text\":\"\"}",
         CS_EV_PASS},
        {"",
         "{\"type\":\"response.function_call_arguments.done\","
         "\"output_index\":0,\"arguments\":\"{}\"}",
         CS_EV_PASS},
        {"", "{\"type\":\"response.output_text.annotation.added\"}",
         CS_EV_PASS},
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        void *st = A->stream_new(NULL);
        CHECK(feed(st, one[i].event, one[i].data) == one[i].want, "event %zu",
              i);
        A->stream_free(st);
    }
    /* the size bound */
    cs_adapter_ctx ctx = {NULL, 5};
    void *st = A->stream_new(&ctx);
    CHECK(feed(st, "", delta) == CS_EV_PASS, "small delta");
    CHECK(feed(st, "",
               "{\"type\":\"response.output_text.delta\","
               "\"output_index\":0,\"content_index\":0,\"delta\":"
               "\"long text\"}") == CS_EV_FAIL,
          "over max bytes");
    size_t n = 0;
    char *err = A->stream_error(st, CHATSEAL_E_UPSTREAM_ERROR, "cut", &n);
    CHECK(err, "stream_error: NULL");
    CHECK(err && !strncmp(err, "event: error\ndata: {\"type\":\"error\"", 34) &&
              strstr(err, "\"code\":\"upstream_error\"") &&
              strstr(err, "\"error\":{"),
          "error event: %s", err ? err : "");
    free(err);
    A->stream_free(st);
}

/* Events in odd orders, stray deltas, reasoning and refusal deltas. */
static void test_stream_odd_orders(void)
{
    const char *call_done =
        "{\"type\":\"response.output_item.done\",\"output_index\":0,"
        "\"item\":{\"type\":\"function_call\",\"call_id\":\"c\","
        "\"name\":\"f\",\"arguments\":\"{}\"}}";
    const char *call_comp =
        "{\"type\":\"response.completed\",\"response\":{\"status\":"
        "\"completed\",\"output\":[{\"type\":\"function_call\","
        "\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}]}}";
    const char *text_on_call =
        "{\"type\":\"response.output_text.delta\",\"output_index\":0,"
        "\"content_index\":0,\"delta\":\"shown but not signed\"}";
    const char *stray = "{\"type\":\"response.output_text.delta\","
                        "\"output_index\":3,\"content_index\":0,"
                        "\"delta\":\"x\"}";
    const char *rs_done =
        "{\"type\":\"response.output_item.done\",\"output_index\":0,"
        "\"item\":{\"type\":\"reasoning\",\"id\":\"rs\",\"summary\":"
        "[{\"type\":\"summary_text\",\"text\":\"plan\"}]}}";
    const char *rs_delta_ok =
        "{\"type\":\"response.reasoning_summary_text.delta\","
        "\"output_index\":0,\"summary_index\":0,\"delta\":\"plan\"}";
    const char *rs_delta_bad =
        "{\"type\":\"response.reasoning_summary_text.delta\","
        "\"output_index\":0,\"summary_index\":0,\"delta\":\"other\"}";
    const char *ref_done =
        "{\"type\":\"response.output_item.done\",\"output_index\":1,"
        "\"item\":{\"type\":\"message\",\"role\":\"assistant\","
        "\"content\":[{\"type\":\"refusal\",\"refusal\":\"no\"}]}}";
    const char *ref_delta =
        "{\"type\":\"response.refusal.delta\",\"output_index\":1,"
        "\"content_index\":0,\"delta\":\"no\"}";
    const char *rs_ref_comp =
        "{\"type\":\"response.completed\",\"response\":{\"status\":"
        "\"completed\",\"output\":[{\"type\":\"reasoning\",\"id\":"
        "\"rs\",\"summary\":[{\"type\":\"summary_text\",\"text\":"
        "\"plan\"}]},{\"type\":\"message\",\"role\":\"assistant\","
        "\"content\":[{\"type\":\"refusal\",\"refusal\":\"no\"}]}]}}";
    static const struct {
        int evs[5];
        cs_ev last;
    } cases[] = {
        /* an item finished without being announced: fine */
        {{0, 1, -1}, CS_EV_FINISH},
        /* text deltas naming a function_call item */
        {{2, 0, 1, -1}, CS_EV_FAIL},
        /* deltas for an item that never comes */
        {{3, 0, 1, -1}, CS_EV_FAIL},
        /* reasoning summary and refusal deltas that agree */
        {{5, 4, 8, 7, 9}, CS_EV_FINISH},
        /* a reasoning summary delta that does not */
        {{6, 4, 8, 7, 9}, CS_EV_FAIL},
    };
    const char *evs[] = {call_done, call_comp,   text_on_call, stray,
                         rs_done,   rs_delta_ok, rs_delta_bad, ref_done,
                         ref_delta, rs_ref_comp};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        void *st = A->stream_new(NULL);
        cs_ev r = CS_EV_PASS;
        for (size_t i = 0; i < 5 && cases[c].evs[i] >= 0; i++)
            r = feed(st, "", evs[cases[c].evs[i]]);
        CHECK(r == cases[c].last, "case %zu: %d", c, r);
        if (r == CS_EV_FINISH && c == 3) {
            json_t *m = A->stream_messages(st);
            CHECK_JSON(m, "[{\"role\":\"assistant\",\"refusal\":\"no\","
                          "\"reasoning\":[{\"type\":\"reasoning\",\"id\":"
                          "\"rs\",\"summary\":[{\"type\":\"summary_text\","
                          "\"text\":\"plan\"}]}]}]");
            json_decref(m);
        }
        A->stream_free(st);
    }
}

int main(void)
{
    static const struct cs_test tests[] = {
        {"string_input_and_instructions", test_string_input_and_instructions},
        {"sdk_spellings_agree", test_sdk_spellings_agree},
        {"reply_round_trip", test_reply_round_trip},
        {"stateful_and_refused", test_stateful_and_refused},
        {"tail_rules", test_tail_rules},
        {"stream_text_and_call", test_stream_text_and_call},
        {"stream_refusals", test_stream_refusals},
        {"stream_big_integers", test_stream_big_integers},
        {"stream_odd_orders", test_stream_odd_orders},
    };
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
