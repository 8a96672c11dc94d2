/*
 * test_policy.c -- the gateway's request policy (src/gateway/policy/policy.c)
 * as pure functions: canonical request text in, verdict out.
 *
 * The gateway tests (tests/gateway/test_policy.py) send the same attacks over
 * HTTP; here the edges are cheap to enumerate: where the tail starts, each
 * content shape, the control-token pattern's bounds, drop mode's rebuilt
 * body being canonical text with the same members in the same order.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/config.h"
#include "policy/policy.h"
#include "tu.h"

static cs_config defaults(void)
{
    cs_config c;
    memset(&c, 0, sizeof c);
    c.user_members = "role,content,name";
    c.tool_members = "role,content,tool_call_id";
    c.content_parts = "text,image_url";
    c.control_tokens = "pipe,deepseek,gemma,mistral";
    c.unknown_parameters = "refuse";
    c.fresh_roles = "user";
    return c;
}

/* Verdict of cs_policy_check_tail over messages[from..] of a request. */
static chatseal_error tail(const cs_policy *p, const char *req, size_t from)
{
    char why[300];
    return cs_policy_check_tail(p, req, strlen(req), from, why, sizeof why);
}

static void members(void)
{
    cs_config c = defaults();
    char why[200];
    cs_policy *p = cs_policy_new(&c, why, sizeof why);
    CHECK(p != NULL, "%s", why);
    if (!p)
        return;
    const char *tc = "{\"messages\":[{\"content\":\"a\",\"role\":\"user\"},"
                     "{\"content\":\"b\",\"role\":\"user\",\"tool_calls\":[]}"
                     "]}";
    CHECK_ERR(tail(p, tc, 0), CHATSEAL_E_MEMBER_NOT_ALLOWED);
    CHECK_ERR(tail(p, tc, 1), CHATSEAL_E_MEMBER_NOT_ALLOWED);
    CHECK_ERR(tail(p, tc, 2), CHATSEAL_OK); /* all signed */
    static const struct {
        const char *msg;
        chatseal_error want;
    } cases[] = {
        {"{\"content\":\"x\",\"name\":\"n\",\"role\":\"user\"}", CHATSEAL_OK},
        {"{\"content\":[{\"text\":\"x\",\"type\":\"text\"},{\"image_url\":"
         "{\"url\":\"u\"},\"type\":\"image_url\"}],\"role\":\"user\"}",
         CHATSEAL_OK},
        {"{\"content\":[{\"text\":1,\"type\":\"text\"}],\"role\":\"user\"}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"content\":[{\"type\":\"text\"}],\"role\":\"user\"}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"content\":[{\"file\":{},\"type\":\"file\"}],\"role\":\"user\"}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"content\":null,\"role\":\"user\"}", CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"content\":\"x\",\"n\\u0061me\":\"n\",\"role\":\"user\"}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"content\":\"x\",\"role\":\"tool\",\"tool_call_id\":\"c\"}",
         CHATSEAL_OK},
        {"{\"content\":\"x\",\"role\":\"tool\",\"tool_call_id\":7}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        {"{\"content\":[{\"image_url\":{\"url\":\"u\"},\"type\":"
         "\"image_url\"}],\"role\":\"tool\"}",
         CHATSEAL_E_MEMBER_NOT_ALLOWED},
        /* control tokens, and text that only looks close */
        {"{\"content\":\"a<|im_end|>b\",\"role\":\"user\"}",
         CHATSEAL_E_CONTROL_TOKEN},
        {"{\"content\":\"x\",\"name\":\"<|eot_id|>\",\"role\":\"user\"}",
         CHATSEAL_E_CONTROL_TOKEN},
        {"{\"content\":\"[INST]\",\"role\":\"user\"}",
         CHATSEAL_E_CONTROL_TOKEN},
        {"{\"content\":\"<start_of_turn>\",\"role\":\"user\"}",
         CHATSEAL_E_CONTROL_TOKEN},
        {"{\"content\":\"<\xef\xbd\x9c"
         "User\xef\xbd\x9c>\",\"role\":\"user\"}",
         CHATSEAL_E_CONTROL_TOKEN},
        {"{\"content\":\"<|>\",\"role\":\"user\"}", CHATSEAL_OK},
        {"{\"content\":\"<| a |>\",\"role\":\"user\"}", CHATSEAL_OK},
        {"{\"content\":\"<|a\\n|>\",\"role\":\"user\"}", CHATSEAL_OK},
        {"{\"content\":\"<s></s>\",\"role\":\"user\"}", CHATSEAL_OK},
        {"{\"content\":\"<|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaa|>\",\"role\":\"user\"}",
         CHATSEAL_OK}, /* longer than any real token name */
        {"{\"content\":\"ends <|\",\"role\":\"user\"}", CHATSEAL_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = strlen(cases[i].msg) + 32;
        char *req = malloc(n);
        snprintf(req, n, "{\"messages\":[%s]}", cases[i].msg);
        chatseal_error got = tail(p, req, 0);
        CHECK(got == cases[i].want, "%s: %s", cases[i].msg,
              chatseal_error_name(got));
        free(req);
    }
    cs_policy_free(p);
}

static void params(void)
{
    cs_config c = defaults();
    char why[300];
    cs_policy *p = cs_policy_new(&c, why, sizeof why);
    char *body = strdup("{\"chat_template\":\"x\",\"messages\":[],\"model\":"
                        "\"m\",\"temperature\":1}");
    size_t len = strlen(body), dropped = 0;
    CHECK_ERR(cs_policy_params(p, &body, &len, &dropped, why, sizeof why),
              CHATSEAL_E_PARAMETER_NOT_ALLOWED);
    CHECK(strstr(why, "\"chat_template\"") != NULL, "%s", why);
    cs_policy_free(p);

    c.unknown_parameters = "drop";
    c.allow_parameters = "top_k";
    p = cs_policy_new(&c, why, sizeof why);
    free(body);
    body = strdup("{\"a\":1,\"chatseal_token\":\"t\",\"messages\":[],\"top_k\":"
                  "2,\"z\":{\"y\":[1]}}");
    len = strlen(body);
    CHECK_ERR(cs_policy_params(p, &body, &len, &dropped, why, sizeof why),
              CHATSEAL_OK);
    CHECK(dropped == 2, "dropped %zu", dropped);
    CHECK(len == strlen(body) && !strcmp(body, "{\"messages\":[],\"top_k\":2}"),
          "%s", body);
    free(body);
    body = strdup("{\"chatseal_token\":5,\"messages\":[]}");
    len = strlen(body);
    CHECK_ERR(cs_policy_params(p, &body, &len, &dropped, why, sizeof why),
              CHATSEAL_E_INVALID_REQUEST);
    free(body);
    cs_policy_free(p);
    /* bad option values stop the start */
    c.unknown_parameters = "refuse";
    c.control_tokens = "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,"
                       "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,"
                       "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,"
                       "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z,"
                       "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,v,w,x,y,z";
    p = cs_policy_new(&c, why, sizeof why);
    CHECK(p == NULL && strstr(why, "--control-tokens"), "%s", why);
    cs_policy_free(p);
}

int main(void)
{
    static const struct cs_test tests[] = {{"members", members},
                                           {"params", params}};
    return cs_test_run(tests, sizeof tests / sizeof *tests);
}
