// MultilevelCropAndResize_TRT (version 1) as an IPluginV3, under TensorRT OSS's name, version and
// fields (plugin/multilevelCropAndResizePlugin). Host-staged: the rois and the five feature maps are
// copied to the host, the host implementation (multilevelCropAndResizeHost.cpp, equal bit for bit to
// the numpy reference) runs, the patches are copied back; enqueue waits for its stream. No CUDA
// kernel yet. See README.md.
#include <string>
#include <vector>

#include "../common/trtPlugin.h"
#include "multilevelCropAndResizeHost.h"

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
        }
        return {};
    }

private:
    int32_t run(nvinfer1::PluginTensorDesc const* inputDesc, void const* const* inputs, void* const* outputs,
                void* /*workspace*/, cudaStream_t stream) override {
        if (!stageInputs(inputDesc, inputs, stream)) return -1;
        const int32_t batch = static_cast<int32_t>(inputDesc[0].dims.d[0]);
        const int32_t rois = static_cast<int32_t>(inputDesc[0].dims.d[1]);
        const int32_t channels = static_cast<int32_t>(inputDesc[1].dims.d[1]);
        const int32_t pooled = mFields.integer("pooled_size");
        const float* features[kLevels];
        int32_t heights[kLevels], widths[kLevels];
        for (int32_t l = 0; l < kLevels; ++l) {
            features[l] = staged(1 + l);
            heights[l] = static_cast<int32_t>(inputDesc[1 + l].dims.d[2]);
            widths[l] = static_cast<int32_t>(inputDesc[1 + l].dims.d[3]);
        }
        mOut.assign(static_cast<size_t>(batch) * rois * channels * pooled * pooled, 0.0f);
        const int status = taostream_multilevel_crop_and_resize(batch, rois, channels, pooled,
                                                                mFields.integer("image_size", 1),
                                                                mFields.integer("image_size", 2), staged(0), features,
                                                                heights, widths, mOut.data());
        if (status != TAOSTREAM_HOST_OK) {
            log(nvinfer1::ILogger::Severity::kERROR, mName + ": the fields do not fit the inputs");
            return -1;
        }
        const bool copied = toDevice(outputs[0], mOut.data(), mOut.size() * sizeof(float), stream);
        return finish(stream, "copy of the patches") && copied ? 0 : -1;
    }

    std::vector<float> mOut;
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
