// Why a C shim: SwiftPM on Linux links every executable with `--defsym main=<module>_main`,
// which overrides the `main` that libFuzzer brings with `-sanitize=fuzzer`, so a Swift fuzz
// target must start libFuzzer itself through `LLVMFuzzerRunDriver`. That symbol exists only
// when libFuzzer is linked; a weak reference (which Swift cannot declare) keeps the ordinary
// `swift build`, without libFuzzer, linking, and lets the binary tell the two builds apart.
#include "CFuzzerDriver.h"

extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t))
    __attribute__((weak));

int advlab_fuzzer_is_linked(void) { return LLVMFuzzerRunDriver != 0; }

int advlab_fuzzer_run_driver(int *argc, char ***argv, advlab_fuzz_callback callback) {
    if (LLVMFuzzerRunDriver == 0) return -1;
    return LLVMFuzzerRunDriver(argc, argv, callback);
}
