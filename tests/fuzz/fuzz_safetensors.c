/*
 * fuzz_safetensors.c - libFuzzer target for safetensors_read_memory.
 */
#include "fuzz_weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_weights_reader(safetensors_read_memory, data, size);
}
