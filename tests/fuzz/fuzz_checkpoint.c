/*
 * fuzz_checkpoint.c - libFuzzer target for checkpoint_read_memory: PyTorch
 * legacy pickle and zip checkpoints, read by the restricted pickle reader.
 */
#include "fuzz_weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_weights_reader(checkpoint_read_memory, data, size);
}
