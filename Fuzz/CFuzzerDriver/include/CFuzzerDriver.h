#ifndef ADVLAB_CFUZZERDRIVER_H
#define ADVLAB_CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// One fuzz input: the bytes and their count; returns 0 (libFuzzer's contract).
typedef int (*advlab_fuzz_callback)(const uint8_t *data, size_t size);

/// 1 when libFuzzer is linked in (the binary was built with `-sanitize=fuzzer`), else 0.
int advlab_fuzzer_is_linked(void);

/// Runs libFuzzer's driver (`LLVMFuzzerRunDriver`) on the command line with `callback`;
/// returns its exit status, or -1 when libFuzzer is not linked in.
int advlab_fuzzer_run_driver(int *argc, char ***argv, advlab_fuzz_callback callback);

#endif
