/*
 * mock_messages.c -- the mock model in this API's wire format (stub: to be
 * written).
 */
#include "upstream/mock.h"

int cs_mock_messages(cs_mock_reply *m, const char *body, size_t len)
{
    (void)body;
    (void)len;
    return cs_mock_error(m, 404, "the mock model does not speak this API yet");
}
