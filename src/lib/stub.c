/* placeholder until the library lands */
int chatseal_stub_unused_(void);
int chatseal_stub_unused_(void) { return 0; }
