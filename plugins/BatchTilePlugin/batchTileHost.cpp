// BatchTilePlugin_TRT on the host; see batchTileHost.h and README.md.
#include "batchTileHost.h"

#include <cstring>

#include "../common/copyIndex.h"

extern "C" int taostream_batch_tile(int64_t batch, int64_t item_bytes, const void* source, void* out) {
    if (batch < 0 || item_bytes < 0) return TAOSTREAM_HOST_BAD_ARGUMENT;
    if (item_bytes == 0) return TAOSTREAM_HOST_OK;
    const auto* from = static_cast<const unsigned char*>(source);
    auto* to = static_cast<unsigned char*>(out);
    // Whole items at a time: byte i of item b is source byte batchTileSource(b * item + i) = i.
    for (int64_t b = 0; b < batch; ++b) {
        const int64_t first = b * item_bytes;
        std::memcpy(to + first, from + taostream::copy::batchTileSource(first, item_bytes),
                    static_cast<size_t>(item_bytes));
    }
    return TAOSTREAM_HOST_OK;
}
