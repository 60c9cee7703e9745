/*
 * Linked only into the sanitizer build of lamina-exec. LeakSanitizer cannot stop the world in a
 * process that has entered new namespaces and dropped its capabilities (it ends such a process
 * with a fatal error and exit status 1, hiding the command's own status), and lamina-exec frees
 * nothing on purpose: it either execs or exits with the command's status. ASan and UBSan stay on.
 */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return 1; }
