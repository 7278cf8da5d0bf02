// MultilevelCropAndResize_TRT (version 1) as an IPluginV3, under TensorRT OSS's name, version and
// fields (plugin/multilevelCropAndResizePlugin). enqueue launches the whole-op kernel
// (multilevelCropAndResizeKernels.cu, one thread per output value, on the host implementation's maths in
// common/multilevelCropMath.h) on its stream: no host staging, no wait, no workspace. See README.md.
#include <cstdint>
#include <string>
#include <vector>

#include "../common/trtPlugin.h"
#include "multilevelCropAndResizeKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

constexpr int32_t kLevels = 5;  // P2..P6

std::vector<FieldSpec> const* cropAndResizeFields() {
    static const std::vector<FieldSpec> specs = {
        {"pooled_size", PluginFieldType::kINT32, 1, true, {0}},
        {"image_size", PluginFieldType::kINT32, 3, false, {3, 832, 1344}},
    };
    return &specs;
}

class CropAndResizePlugin final : public ClonablePlugin<CropAndResizePlugin> {
public:
    CropAndResizePlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 1 + kLevels, {DataType::kFLOAT}) {}

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 1 + kLevels || nbOutputs != 1 || inputs[0].nbDims < 2 || inputs[1].nbDims != 4) return -1;
        auto const* pooled = exprBuilder.constant(mFields.integer("pooled_size"));
        outputs[0].nbDims = 5;  // [N, R, C, pooled, pooled]
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = inputs[0].d[1];
        outputs[0].d[2] = inputs[1].d[1];
        outputs[0].d[3] = pooled;
        outputs[0].d[4] = pooled;
        return 0;
    }


protected:
    // rois [N, R, 4]; P2..P6 [N, C, H_l, W_l].
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        if (dims[0].nbDims != 3 || dims[0].d[2] != 4) return "rois must be [N, R, 4]";
        for (int32_t l = 1; l <= kLevels; ++l) {
            if (dims[l].nbDims != 4 || dims[l].d[0] != dims[0].d[0] || dims[l].d[1] != dims[1].d[1]) {
                return "feature map P" + std::to_string(l + 1) + " must be [N, C, H, W] with the rois' N and P2's C";
            }
            for (int32_t axis = 0; axis < 4; ++axis) {
                if (dims[l].d[axis] > INT32_MAX) return "an axis over 2^31 - 1";
            }
        }
        if (dims[0].d[1] > INT32_MAX) return "an axis over 2^31 - 1";
        return {};
    }

private:
    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* /*workspace*/, cudaStream_t stream) override {
        const float* features[kLevels];
        int32_t heights[kLevels], widths[kLevels];
        for (int32_t l = 0; l < kLevels; ++l) {
            features[l] = static_cast<const float*>(inputs[1 + l]);
            heights[l] = static_cast<int32_t>(inputDesc[1 + l].dims.d[2]);
            widths[l] = static_cast<int32_t>(inputDesc[1 + l].dims.d[3]);
        }
        const int status = taostream_multilevel_crop_and_resize_cuda(
            static_cast<int32_t>(inputDesc[0].dims.d[0]), static_cast<int32_t>(inputDesc[0].dims.d[1]),
            static_cast<int32_t>(inputDesc[1].dims.d[1]), mFields.integer("pooled_size"),
            mFields.integer("image_size", 1), mFields.integer("image_size", 2), static_cast<const float*>(inputs[0]),
            features, heights, widths, static_cast<float*>(outputs[0]), stream);
        return launched(status);
    }
};

nvinfer1::IPluginV3* makeCropAndResize(char const* name, FieldValues const& fields, char const* ns) {
    std::string problem;
    if (fields.integer("pooled_size") <= 0) {
        problem = "pooled_size must be positive";
    } else if (fields.integer("image_size", 1) <= 0 || fields.integer("image_size", 2) <= 0) {
        problem = "image_size must be C, H, W with positive H and W";
    }
    if (!problem.empty()) return refuse(name, problem);
    return new CropAndResizePlugin(name, fields, ns);
}

}  // namespace

PluginCreator* multilevelCropAndResizeCreator() {
    static PluginCreator creator("MultilevelCropAndResize_TRT", "1", cropAndResizeFields(), makeCropAndResize);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
