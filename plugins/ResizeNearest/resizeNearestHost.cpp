// ResizeNearest_TRT on the host; see resizeNearestHost.h and README.md.
#include "resizeNearestHost.h"

#include <cstring>
#include <vector>

#include "../common/copyIndex.h"

namespace cp = taostream::copy;

namespace {

// out[x] = source[cols[x]] for elements of Word's size (memcpy: no alignment or aliasing assumed).
template <typename Word>
void copyColumns(const unsigned char* source, unsigned char* out, const std::vector<int64_t>& cols, int64_t count) {
    for (int64_t x = 0; x < count; ++x) {
        Word value;
        std::memcpy(&value, source + cols[x] * static_cast<int64_t>(sizeof(Word)), sizeof(Word));
        std::memcpy(out + x * static_cast<int64_t>(sizeof(Word)), &value, sizeof(Word));
    }
}

}  // namespace

extern "C" {

int64_t taostream_resize_nearest_output_size(int64_t size, float scale) {
    return cp::resizeNearestOutputSize(size, scale);
}

int taostream_resize_nearest(int64_t planes, int64_t height, int64_t width, float scale, int64_t element_bytes,
                             const void* in, void* out) {
    const int64_t outHeight = cp::resizeNearestOutputSize(height, scale);
    const int64_t outWidth = cp::resizeNearestOutputSize(width, scale);
    if (planes < 0 || height < 0 || width < 0 || element_bytes <= 0 || outHeight < 0 || outWidth < 0) {
        return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    std::vector<int64_t> rows(static_cast<size_t>(outHeight)), cols(static_cast<size_t>(outWidth));
    for (int64_t y = 0; y < outHeight; ++y) {
        rows[y] = cp::resizeNearestSource(y, scale);
        if (rows[y] < 0 || rows[y] >= height) return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    for (int64_t x = 0; x < outWidth; ++x) {
        cols[x] = cp::resizeNearestSource(x, scale);
        if (cols[x] < 0 || cols[x] >= width) return TAOSTREAM_HOST_BAD_ARGUMENT;
    }
    const auto* from = static_cast<const unsigned char*>(in);
    auto* to = static_cast<unsigned char*>(out);
    const size_t bytes = static_cast<size_t>(element_bytes);
    for (int64_t p = 0; p < planes; ++p) {
        const unsigned char* plane = from + p * height * width * element_bytes;
        for (int64_t y = 0; y < outHeight; ++y) {
            unsigned char* row = to + ((p * outHeight + y) * outWidth) * element_bytes;
            if (y > 0 && rows[y] == rows[y - 1]) {  // the same source row: copy the output row just written
                std::memcpy(row, row - outWidth * element_bytes, bytes * static_cast<size_t>(outWidth));
                continue;
            }
            const unsigned char* source = plane + rows[y] * width * element_bytes;
            switch (element_bytes) {  // whole elements for the common sizes, bytes for the others
                case 1: copyColumns<uint8_t>(source, row, cols, outWidth); break;
                case 2: copyColumns<uint16_t>(source, row, cols, outWidth); break;
                case 4: copyColumns<uint32_t>(source, row, cols, outWidth); break;
                case 8: copyColumns<uint64_t>(source, row, cols, outWidth); break;
                default:
                    for (int64_t x = 0; x < outWidth; ++x) {
                        std::memcpy(row + x * element_bytes, source + cols[x] * element_bytes, bytes);
                    }
            }
        }
    }
    return TAOSTREAM_HOST_OK;
}

}  // extern "C"
