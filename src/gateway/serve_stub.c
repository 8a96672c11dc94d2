#include <stdio.h>
#include "serve.h"
int cs_serve_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("chatseal serve: not built yet\n", stderr);
    return 2;
}
