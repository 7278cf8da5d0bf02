// CropAndResize and CropAndResizeDynamic (version 1) as an IPluginV3, under TensorRT OSS's names,
// version and fields (plugin/cropAndResizePlugin: crop_width, crop_height, int32, both required).
// enqueue launches the whole-op kernel (cropAndResizeKernels.cu, the host implementation's maths in
// common/cropAndResizeMath.h) on its stream. No host staging, no wait. See README.md.
#include <cstdint>
#include <string>
#include <vector>

#include "../common/trtPlugin.h"
#include "cropAndResizeKernels.h"

namespace taostream {
namespace trt {
namespace {

using nvinfer1::DataType;
using nvinfer1::PluginFieldType;

std::vector<FieldSpec> const* cropAndResizeFields() {
    static const std::vector<FieldSpec> specs = {
        {"crop_width", PluginFieldType::kINT32, 1, true, {0}},
        {"crop_height", PluginFieldType::kINT32, 1, true, {0}},
    };
    return &specs;
}

class CropAndResizePlugin final : public ClonablePlugin<CropAndResizePlugin> {
public:
    CropAndResizePlugin(char const* name, FieldValues const& fields, char const* ns)
        : ClonablePlugin(name, "1", ns, fields, 2, {DataType::kFLOAT}) {}

    // features [N, C, H, W], rois [N, R, 4(, 1)] -> [N, R, C, crop_height, crop_width]
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
                            nvinfer1::DimsExprs* outputs, int32_t nbOutputs,
                            nvinfer1::IExprBuilder& exprBuilder) noexcept override {
        if (nbInputs != 2 || nbOutputs != 1 || inputs[0].nbDims != 4 || inputs[1].nbDims < 2) return -1;
        outputs[0].nbDims = 5;
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = inputs[1].d[1];
        outputs[0].d[2] = inputs[0].d[1];
        outputs[0].d[3] = exprBuilder.constant(mFields.integer("crop_height"));
        outputs[0].d[4] = exprBuilder.constant(mFields.integer("crop_width"));
        return 0;
    }

protected:
    std::string checkInputs(nvinfer1::Dims const* dims, int32_t) const override {
        nvinfer1::Dims const& features = dims[0];
        nvinfer1::Dims const& rois = dims[1];
        if (features.nbDims != 4) return "the feature map must be [N, C, H, W]";
        if (rois.nbDims < 3 || rois.d[2] != 4 || volume(rois, 3) != 1) return "rois must be [N, R, 4] or [N, R, 4, 1]";
        if (rois.d[0] != features.d[0]) {
            return "the feature map (batch " + std::to_string(features.d[0]) + ") and rois (batch " +
                   std::to_string(rois.d[0]) + ") disagree on the batch size";
        }
        for (int32_t axis = 0; axis < 4; ++axis) {
            if (features.d[axis] > INT32_MAX || (axis < 2 && rois.d[axis] > INT32_MAX)) return "an axis over 2^31 - 1";
        }
        return {};
    }

private:
    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* /*workspace*/, cudaStream_t stream) override {
        nvinfer1::Dims const& features = inputDesc[0].dims;
        const int status = taostream_crop_and_resize_cuda(
            static_cast<int>(features.d[0]), static_cast<int>(features.d[1]), static_cast<int>(features.d[2]),
            static_cast<int>(features.d[3]), static_cast<int>(inputDesc[1].dims.d[1]), mFields.integer("crop_height"),
            mFields.integer("crop_width"), static_cast<const float*>(inputs[0]), static_cast<const float*>(inputs[1]),
            static_cast<float*>(outputs[0]), stream);
        return launched(status);
    }
};

nvinfer1::IPluginV3* makeCropAndResize(char const* name, FieldValues const& fields, char const* ns) {
    if (fields.integer("crop_width") <= 0 || fields.integer("crop_height") <= 0) {
        return refuse(name, "crop_width and crop_height must be positive");
    }
    return new CropAndResizePlugin(name, fields, ns);
}

}  // namespace

PluginCreator* cropAndResizeCreator() {
    static PluginCreator creator("CropAndResize", "1", cropAndResizeFields(), makeCropAndResize);
    return &creator;
}

PluginCreator* cropAndResizeDynamicCreator() {
    static PluginCreator creator("CropAndResizeDynamic", "1", cropAndResizeFields(), makeCropAndResize);
    return &creator;
}

}  // namespace trt
}  // namespace taostream
