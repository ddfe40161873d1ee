/* Never runs: its PT_INTERP is /proc/self/exe, so the kernel maps whatever
   binary executed it (the runtime, when the runtime execs it) as its
   interpreter and starts that. */
int main(void) { return 0; }
