// SpecialSlice_TRT on the host; see specialSliceHost.h and README.md.
#include "specialSliceHost.h"

#include <cstring>

#include "../common/copyIndex.h"

extern "C" int taostream_special_slice(int64_t rows, const float* detections, float* boxes) {
    if (rows < 0) return TAOSTREAM_HOST_BAD_ARGUMENT;
    // Four values at a time: value 4r + c comes from specialSliceSource(4r) + c = 6r + c.
    for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(boxes + 4 * r, detections + taostream::copy::specialSliceSource(4 * r), 4 * sizeof(float));
    }
    return TAOSTREAM_HOST_OK;
}
