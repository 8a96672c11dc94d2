/* chatseal serve: the HTTP gateway.  Entry point called by the CLI. */
#ifndef CHATSEAL_SERVE_H
#define CHATSEAL_SERVE_H
/* argv[0] is "serve"; returns the process exit status. */
int cs_serve_main(int argc, char **argv);
#endif
